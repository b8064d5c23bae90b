package dns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Options configure the DNS server.
type Options struct {
	// Listen are the addresses served over UDP and TCP (host:port).
	Listen []string
	// ClusterDomain is the zone served, e.g. "cluster.local".
	ClusterDomain string
	// UpstreamResolvConf names the resolv.conf whose nameservers get
	// every other name (on port 53).
	UpstreamResolvConf string
	// Upstreams, when set, replaces UpstreamResolvConf (host:port each).
	Upstreams []string
	// HTTPAddress serves /health, /ready and /metrics ("" disables).
	HTTPAddress string
	// TTL of the cluster records.
	TTL time.Duration
	// Pods: how pod names are answered.
	Pods PodMode
	// DNSService is namespace/name of the Service in front of the server.
	DNSService string
	// CacheSize bounds the forwarding cache (entries).
	CacheSize int
	// MaxConcurrentForwards bounds questions in flight upstream.
	MaxConcurrentForwards int
	// ForwardTimeout bounds one forwarded question (all upstreams).
	ForwardTimeout time.Duration
	Log            *slog.Logger
	// Started, when set, is called with the bound DNS and HTTP addresses
	// once the server answers (tests bind port 0; `kemudi dns` gives back
	// its start-up pages then).
	Started func(dnsAddrs []string, httpAddr string)
}

// DefaultOptions are kemudi's defaults: cluster.local, the node's
// /etc/resolv.conf, metrics and health on :9153 as CoreDNS's metrics.
func DefaultOptions() Options {
	return Options{
		Listen:                []string{":53"},
		ClusterDomain:         "cluster.local",
		UpstreamResolvConf:    "/etc/resolv.conf",
		HTTPAddress:           ":9153",
		TTL:                   5 * time.Second,
		Pods:                  PodsInsecure,
		DNSService:            "kube-system/kube-dns",
		CacheSize:             10000,
		MaxConcurrentForwards: 1000,
		ForwardTimeout:        5 * time.Second,
	}
}

// Validate reports the first unusable option.
func (o Options) Validate() error {
	if len(o.Listen) == 0 {
		return errors.New("dns: at least one listen address is needed")
	}
	if o.ClusterDomain == "" {
		return errors.New("dns: cluster domain is empty")
	}
	if o.Pods != PodsInsecure && o.Pods != PodsDisabled {
		return fmt.Errorf("dns: pods mode %q: must be insecure or disabled", o.Pods)
	}
	if o.TTL < time.Second {
		return fmt.Errorf("dns: ttl %s: must be at least 1s", o.TTL)
	}
	return nil
}

// Run serves cluster DNS against the API server at cfg until ctx ends.
// It is ready (/ready) once the informers synced.
func Run(ctx context.Context, cfg *rest.Config, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "dns")
	defer startProfiles(log)()
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("dns: client: %w", err)
	}
	upstreams := o.Upstreams
	if len(upstreams) == 0 && o.UpstreamResolvConf != "" {
		if upstreams, err = upstreamsFromResolvConf(o.UpstreamResolvConf); err != nil {
			return fmt.Errorf("dns: %w", err)
		}
	}
	upstreams = withoutSelf(upstreams, o.Listen, log)
	m := newMetrics()
	h := &handler{
		up:      newForwarder(upstreams, newCache(o.CacheSize, time.Now), o.MaxConcurrentForwards, m),
		metrics: m,
		timeout: o.ForwardTimeout,
	}
	var ready atomic.Bool
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	httpAddr := ""
	if o.HTTPAddress != "" {
		if httpAddr, err = serveHTTP(ctx, &wg, o.HTTPAddress, m, &ready, log); err != nil {
			return err
		}
	}
	var ls []*listener
	var addrs []string
	for _, a := range o.Listen {
		l, err := listen(a, h, log, o.MaxConcurrentForwards)
		if err != nil {
			for _, l := range ls {
				l.udp.Close()
				l.tcp.Close()
			}
			return fmt.Errorf("dns: %w", err)
		}
		ls = append(ls, l)
		addrs = append(addrs, l.Addr())
	}
	sc := SnapshotConfig{Zone: o.ClusterDomain, TTL: uint32(o.TTL / time.Second), Pods: o.Pods, DNSService: o.DNSService}
	// The sockets are bound already (a bad address fails at once), but
	// read only after the informers synced: an empty snapshot would deny
	// cluster names that exist, and clients cache denials.
	w, err := startWatcher(ctx, client, sc, func(s *Snapshot) {
		h.snap.Store(s)
		m.records.Set(float64(s.Len()))
	})
	if err != nil {
		for _, l := range ls {
			l.udp.Close()
			l.tcp.Close()
		}
		return fmt.Errorf("dns: %w", err)
	}
	for _, l := range ls {
		wg.Go(func() { _ = l.serve(ctx) })
	}
	log.Info("serving cluster DNS", "listen", addrs, "zone", o.ClusterDomain, "upstreams", upstreams, "http", httpAddr)
	// Listing the API for the first snapshot took several times the heap
	// the server keeps; give it back to the system now rather than at
	// the runtime's leisure.
	debug.FreeOSMemory()
	ready.Store(true)
	if o.Started != nil {
		o.Started(addrs, httpAddr)
	}
	w.run(ctx)
	return nil
}

// withoutSelf drops upstreams that are one of our own listen addresses:
// forwarding to ourselves would loop.
func withoutSelf(upstreams, listen []string, log *slog.Logger) []string {
	var out []string
	for _, u := range upstreams {
		if containsAddr(listen, u) {
			log.Warn("ignoring upstream resolver that is this server", "upstream", u)
			continue
		}
		out = append(out, u)
	}
	return out
}

func containsAddr(list []string, a string) bool {
	for _, l := range list {
		if l == a {
			return true
		}
	}
	return false
}

// serveHTTP serves /health (alive), /ready (informers synced) and
// /metrics on addr until ctx ends; it returns the bound address.
func serveHTTP(ctx context.Context, wg *sync.WaitGroup, addr string, m *metrics, ready *atomic.Bool, log *slog.Logger) (string, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("dns: listen http %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("OK")) })
	mux.HandleFunc("/ready", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "informers not synced", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("OK"))
	})
	mux.Handle("/metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	wg.Go(func() {
		<-ctx.Done()
		_ = srv.Close()
	})
	wg.Go(func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server", "err", err)
		}
	})
	return l.Addr().String(), nil
}
