package proxy

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// healthChecks serves the health-check node ports of services with
// externalTrafficPolicy Local, as upstream: 200 with the count of local
// endpoints when there is one and the proxy is healthy, 503 otherwise,
// so load balancers send traffic only to nodes that can serve it.
type healthChecks struct {
	nsPath string
	log    *slog.Logger
	// healthy is the proxy's own /healthz verdict (upstream's
	// serviceProxyHealthy).
	healthy func() bool

	mu      sync.Mutex
	servers map[int32]*hcServer
}

type hcServer struct {
	srv     *http.Server
	healthy func() bool

	mu        sync.Mutex
	namespace string
	name      string
	local     int
}

func (s *hcServer) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	healthy := s.healthy()
	s.mu.Lock()
	local := s.local
	body := map[string]any{
		"service":             map[string]string{"namespace": s.namespace, "name": s.name},
		"localEndpoints":      local,
		"serviceProxyHealthy": healthy,
	}
	s.mu.Unlock()
	w.Header().Set("X-Load-Balancing-Endpoint-Weight", strconv.Itoa(local))
	writeJSON(w, local > 0 && healthy, body)
}

// update makes the served ports those of svcs (keyed by port).
func (h *healthChecks) update(want map[int32]*Service) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for port, s := range h.servers {
		if _, ok := want[port]; !ok {
			_ = s.srv.Close()
			delete(h.servers, port)
		}
	}
	for port, svc := range want {
		local := map[string]bool{}
		for _, eps := range svc.Endpoints {
			for _, e := range eps {
				if e.Local && e.Ready {
					local[e.Addr.String()] = true
				}
			}
		}
		s := h.servers[port]
		if s == nil {
			l, err := listenIn(h.nsPath, fmt.Sprintf(":%d", port))
			if err != nil {
				h.log.Warn("health check node port", "port", port, "service", svc.Namespace+"/"+svc.Name, "err", err)
				continue
			}
			s = &hcServer{healthy: h.healthy}
			s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
			go func() { _ = s.srv.Serve(l) }()
			h.servers[port] = s
		}
		s.mu.Lock()
		s.namespace, s.name, s.local = svc.Namespace, svc.Name, len(local)
		s.mu.Unlock()
	}
}

func (h *healthChecks) close(ctx context.Context) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for port, s := range h.servers {
		_ = s.srv.Shutdown(ctx)
		delete(h.servers, port)
	}
}

func (h *healthChecks) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.servers)
}
