package apiserver

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/transport"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	"k8s.io/kube-aggregator/pkg/apis/apiregistration/v1/helper"

	"github.com/kemudi/kemudi/internal/registry/apiregistration/apiservice"
	"github.com/kemudi/kemudi/internal/storage"
)

// AggregatorConfig is how the API server reaches the aggregated API
// servers that APIServices with a service name (upstream's
// kube-aggregator, with --enable-aggregator-routing: a request goes to one
// of the service's ready endpoints).
type AggregatorConfig struct {
	// ProxyClientCert gives the front proxy's client certificate,
	// presented to every aggregated server (upstream's
	// --proxy-client-cert-file) and read at each handshake, so that one
	// renewed while the server runs is used from then on; the servers
	// trust it through the extension-apiserver-authentication ConfigMap.
	// Nil: aggregated groups answer 503.
	ProxyClientCert apiservice.ClientCertificate
	// Dial connects to an endpoint; nil dials directly. (Tests map the
	// addresses of EndpointSlices, which may not be loopback, to loopback.)
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// aggregator follows the APIServices in the server's storage and proxies
// the requests for the group versions served elsewhere.
type aggregator struct {
	cfg   AggregatorConfig
	store *storage.Store
	log   *slog.Logger

	mu sync.Mutex
	// all APIServices by name (mu); remote is what requests read.
	all    map[string]*apiregistrationv1.APIService
	remote atomic.Pointer[remoteAPIs]
	// transports by APIService name, rebuilt when its TLS settings change.
	transports map[string]*remoteTransport
	discovery  *remoteDiscovery
}

// remoteAPIs are the APIServices with a service at one moment.
type remoteAPIs struct {
	byGV map[schema.GroupVersion]*apiregistrationv1.APIService
	// groups in discovery order (upstream's: groupPriorityMinimum, then
	// name), each with its APIServices by version priority.
	groups [][]*apiregistrationv1.APIService
	// localGroups are the groups some local APIService serves.
	localGroups map[string]bool
}

func newAggregator(cfg AggregatorConfig, store *storage.Store, log *slog.Logger) *aggregator {
	a := &aggregator{cfg: cfg, store: store, log: log, all: map[string]*apiregistrationv1.APIService{}, transports: map[string]*remoteTransport{}}
	a.discovery = newRemoteDiscovery(a)
	a.remote.Store(&remoteAPIs{byGV: map[schema.GroupVersion]*apiregistrationv1.APIService{}})
	return a
}

// start follows the APIServices until ctx ends and keeps the remote
// groups' discovery documents fresh.
func (a *aggregator) start(ctx context.Context) {
	synced := a.store.Follow(ctx, storage.Prefix+apiservice.StoragePrefix+"/", storage.Sink{
		Set: func(o runtime.Object) {
			if svc, ok := o.(*apiregistrationv1.APIService); ok {
				a.mu.Lock()
				a.all[svc.Name] = svc
				a.publish()
				a.mu.Unlock()
			}
		},
		Delete: func(o runtime.Object) {
			if svc, ok := o.(*apiregistrationv1.APIService); ok {
				a.mu.Lock()
				delete(a.all, svc.Name)
				a.publish()
				a.mu.Unlock()
			}
		},
		Reset: func(objs []runtime.Object) {
			a.mu.Lock()
			clear(a.all)
			for _, o := range objs {
				if svc, ok := o.(*apiregistrationv1.APIService); ok {
					a.all[svc.Name] = svc
				}
			}
			a.publish()
			a.mu.Unlock()
		},
	}, a.log)
	go func() {
		select {
		case <-synced:
		case <-ctx.Done():
			return
		}
		a.discovery.run(ctx)
	}()
}

// publish (a.mu held) swaps in the remote APIServices of a.all and
// drops the transports of those gone.
func (a *aggregator) publish() {
	r := &remoteAPIs{byGV: map[schema.GroupVersion]*apiregistrationv1.APIService{}, localGroups: map[string]bool{}}
	var remote []*apiregistrationv1.APIService
	for _, svc := range a.all {
		if svc.Spec.Service == nil {
			r.localGroups[svc.Spec.Group] = true
			continue
		}
		r.byGV[schema.GroupVersion{Group: svc.Spec.Group, Version: svc.Spec.Version}] = svc
		remote = append(remote, svc)
	}
	if len(remote) > 0 {
		r.groups = helper.SortedByGroupAndVersion(remote)
	}
	for name := range a.transports {
		if svc, ok := a.all[name]; !ok || svc.Spec.Service == nil {
			delete(a.transports, name)
		}
	}
	a.remote.Store(r)
	a.discovery.kick()
}

// lookup returns the remote APIService serving path's group version
// (/apis/<group>/<version>/...), or nil.
func (a *aggregator) lookup(path string) *apiregistrationv1.APIService {
	parts := splitPath(path)
	if len(parts) < 3 || parts[0] != "apis" {
		return nil
	}
	return a.remote.Load().byGV[schema.GroupVersion{Group: parts[1], Version: parts[2]}]
}

// serveAggregated answers what the aggregator owns: requests under a
// remote group version are proxied, /apis/<group> of a group served only
// elsewhere is answered here. It returns false for every other path.
func (s *Server) serveAggregated(w http.ResponseWriter, r *http.Request, user *User) bool {
	if s.agg == nil || !strings.HasPrefix(r.URL.Path, "/apis/") {
		return false
	}
	if svc := s.agg.lookup(r.URL.Path); svc != nil {
		s.agg.proxy(s, w, r, user, svc)
		return true
	}
	parts := splitPath(r.URL.Path)
	if len(parts) == 2 {
		if g := s.agg.group(parts[1]); g != nil {
			out, ok := negotiate(r)
			if !ok {
				s.writeError(w, output{mediaType: mediaJSON}, notAcceptable())
				return true
			}
			if out.mediaType == mediaProtobuf || out.discovery || out.as != "" {
				out = output{mediaType: mediaJSON, pretty: out.pretty}
			}
			s.write(w, out, http.StatusOK, g)
			return true
		}
	}
	return false
}

// proxy sends the request to one of the APIService's endpoints with the
// front proxy's certificate and the caller's identity in X-Remote-*
// headers (after our own authentication and authorization), as
// upstream's proxy handler does; upgrades pass through.
func (a *aggregator) proxy(s *Server, w http.ResponseWriter, r *http.Request, user *User, svc *apiregistrationv1.APIService) {
	fail := func(err error) {
		s.writeError(w, output{mediaType: mediaJSON}, err)
	}
	if !helper.IsAPIServiceConditionTrue(svc, apiregistrationv1.Available) {
		fail(unavailable(svc, availableMessage(svc)))
		return
	}
	rt, err := a.transport(svc)
	if err != nil {
		fail(unavailable(svc, err.Error()))
		return
	}
	addr, err := a.resolve(r.Context(), svc)
	if err != nil {
		fail(unavailable(svc, err.Error()))
		return
	}
	target := &url.URL{Scheme: "https", Host: addr, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	rp := &httputil.ReverseProxy{
		Transport: rt.transport,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL = target
			pr.Out.Host = rt.serverName
			stripCredentials(pr.Out.Header)
			transport.SetAuthProxyHeaders(pr.Out, user.Name, user.UID, user.Groups, user.Extra)
		},
		// Watches and other streams go out as they come.
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return
			}
			s.writeError(w, output{mediaType: mediaJSON}, unavailable(svc, fmt.Sprintf("error trying to reach service: %v", err)))
		},
	}
	rp.ServeHTTP(w, r)
}

// stripCredentials removes what the client sent that the backend must
// not take for ours: its credentials, impersonation, and identity headers
// it may have forged.
func stripCredentials(h http.Header) {
	h.Del("Authorization")
	for k := range h {
		if strings.HasPrefix(k, "Impersonate-") || strings.HasPrefix(k, "X-Remote-") {
			h.Del(k)
		}
	}
}

// unavailable is the 503 an aggregated group answers while its server
// cannot be reached; the rest of the API is unaffected.
func unavailable(svc *apiregistrationv1.APIService, why string) error {
	return apierrors.NewServiceUnavailable(fmt.Sprintf("service unavailable: APIService %s: %s", svc.Name, why))
}

// availableMessage says why an APIService is not Available.
func availableMessage(svc *apiregistrationv1.APIService) string {
	c := helper.GetAPIServiceConditionByType(svc, apiregistrationv1.Available)
	if c == nil {
		return "its availability has not been checked yet"
	}
	if c.Message != "" {
		return c.Message
	}
	return c.Reason
}

// GroupVersions are the group versions the server serves itself, built
// in (each gets a Local APIService).
func (s *Server) GroupVersions() []schema.GroupVersion {
	var out []schema.GroupVersion
	for _, g := range s.discovery.groups {
		for _, v := range s.discovery.versions[g] {
			out = append(out, schema.GroupVersion{Group: g, Version: v})
		}
	}
	return out
}
