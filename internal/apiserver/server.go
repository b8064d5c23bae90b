package apiserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/auth"
	"github.com/kemudi/kemudi/internal/auth/rbac"
	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/storage"
)

// Config is what an API server is built from.
type Config struct {
	Store     *storage.Store
	Scheme    *runtime.Scheme
	Resources []*registry.Resource
	// Authenticator identifies the caller of a request.
	Authenticator Authenticator
	// Anonymous serves requests without credentials as system:anonymous
	// (upstream's --anonymous-auth); off, they get 401.
	Anonymous AnonymousAuth
	// Authorizer decides what an authenticated caller may do; nil allows
	// everything (upstream's AlwaysAllow).
	Authorizer auth.Authorizer
	// Rules lists what a user may do, for SelfSubjectRulesReview; nil
	// answers that the list is incomplete.
	Rules auth.RuleResolver
	// RBAC, when set, keeps role and binding writes from granting more
	// than the writer holds (escalation prevention).
	RBAC *rbac.Authorizer
	// OpenAPI serves /openapi/v2 and /openapi/v3; nil means 404.
	OpenAPI http.Handler
	// ServiceCIDR and NodePorts are where services' cluster IPs and node
	// ports come from.
	ServiceCIDR netip.Prefix
	NodePorts   PortRange
	// ServiceAccountTokens, when set, serves TokenRequest and OpenID
	// discovery and accepts the tokens it issues.
	ServiceAccountTokens *ServiceAccountTokens
	// ManagedFields says when writes record managedFields (default
	// ManagedFieldsAfterApply).
	ManagedFields ManagedFields
	// MetricsCollectors are served on /metrics beside the server's own
	// (the encryption configuration's reload metrics).
	MetricsCollectors []prometheus.Collector
	// Mutating, when set, may change every write after defaulting and
	// before validation, and Admission checks it after validation: the
	// two phases of the admission chain (internal/admission). The
	// server's own writes reach them too, with a nil User.
	Admission auth.Admission
	Mutating  auth.MutatingAdmission
	// Audit, when set, records requests as its policy says.
	Audit *Auditing
	// KubeletClient is how the API server reaches kubelets for pods/log,
	// exec, attach, portforward and nodes/proxy (kubelet.go).
	KubeletClient KubeletClientConfig
	// Aggregator is how requests for APIServices served elsewhere reach
	// their servers (aggregator.go).
	Aggregator AggregatorConfig
	// RequestTimeout bounds every request that is not long-running
	// (upstream's --request-timeout; 0: DefaultRequestTimeout). A
	// request's ?timeout= may only shorten it.
	RequestTimeout time.Duration
	// CRDsSettled, when set, runs once the served CRDs have not changed
	// for crdSettleDelay after a change: installing CRDs leaves garbage
	// a process may want to return to the system (crdsettle.go).
	CRDsSettled func()
	Log         *slog.Logger
}

// Server is the API server.
type Server struct {
	store       *storage.Store
	scheme      *runtime.Scheme
	serializers *serializers
	authn       Authenticator
	anonymous   AnonymousAuth
	authz       auth.Authorizer
	rules       auth.RuleResolver
	rbac        *rbac.Authorizer
	admission   auth.Admission
	mutating    auth.MutatingAdmission
	audit       *Auditing
	openapi     http.Handler
	log         *slog.Logger

	// endpoints by group/version/resource.
	endpoints map[string]*endpoint
	// ordered as served, for discovery. endpoints, ordered and discovery
	// are the built-in resources; api is what is served now, custom
	// resources included (customresources.go).
	ordered   []*endpoint
	discovery *discovery
	api       atomic.Pointer[apiSnapshot]
	crs       customResources
	metrics   *metrics
	fields    *fieldManagers
	tokens    *tokenSigner
	// managedFields says when writes record managedFields.
	managedFields ManagedFields
	kubelet       *kubeletClient
	agg           *aggregator
	// flow classifies requests (API Priority and Fairness); nil when
	// its kinds are not served.
	flow *flowControl
	// requestTimeout is the longest a request that is not long-running
	// may take.
	requestTimeout time.Duration
	health         health
}

// New builds the server's handlers; it starts nothing.
func New(cfg Config) (*Server, error) {
	s := &Server{
		store:       cfg.Store,
		scheme:      cfg.Scheme,
		serializers: newSerializers(cfg.Scheme),
		authn:       cfg.Authenticator,
		anonymous:   cfg.Anonymous,
		authz:       cfg.Authorizer,
		rules:       cfg.Rules,
		rbac:        cfg.RBAC,
		admission:   cfg.Admission,
		mutating:    cfg.Mutating,
		audit:       cfg.Audit,
		openapi:     cfg.OpenAPI,
		log:         cfg.Log,
		endpoints:   map[string]*endpoint{},
		metrics:     newMetrics(cfg.MetricsCollectors...),
		fields:      newFieldManagers(cfg.Scheme),
		kubelet:     newKubeletClient(cfg.KubeletClient),
	}
	s.crs.settled = cfg.CRDsSettled
	s.health.checks = []namedCheck{
		{name: "ping", check: func(context.Context) error { return nil }},
		{name: "log", check: func(context.Context) error { return nil }},
		{name: "etcd", check: cfg.Store.Healthy},
	}
	// Steps of this package's own start (Serve).
	s.crs.synced = s.StartupStep("poststarthook/crd-informer-synced")
	s.agg = newAggregator(cfg.Aggregator, cfg.Store, cfg.Log)
	s.requestTimeout = cfg.RequestTimeout
	if s.requestTimeout <= 0 {
		s.requestTimeout = DefaultRequestTimeout
	}
	switch cfg.ManagedFields {
	case "":
		s.managedFields = ManagedFieldsAfterApply
	case ManagedFieldsAlways, ManagedFieldsAfterApply:
		s.managedFields = cfg.ManagedFields
	default:
		return nil, fmt.Errorf("managed fields mode %q is not one of %q, %q", cfg.ManagedFields, ManagedFieldsAlways, ManagedFieldsAfterApply)
	}
	if cfg.ServiceAccountTokens != nil {
		t, err := newTokenSigner(*cfg.ServiceAccountTokens)
		if err != nil {
			return nil, err
		}
		s.tokens = t
		saAuthn := TokenAuthenticator(s.authenticateServiceAccount)
		if s.authn == nil {
			s.authn = saAuthn
		} else {
			s.authn = Authenticators{s.authn, saAuthn}
		}
	}
	pools := newServicePools(cfg.Store, cfg.ServiceCIDR, cfg.NodePorts)
	// The allocations are rebuilt from the stored services (upstream's
	// repair controllers' work), at the first check or service write.
	s.StartupCheck("poststarthook/start-service-ip-repair-controllers", pools.load)
	for _, r := range cfg.Resources {
		ep := newEndpoint(r)
		if ep.gvr == corev1.SchemeGroupVersion.WithResource("services") {
			ep.alloc = serviceAllocation{pools}
		}
		k := endpointKey(r.GroupVersion.Group, r.GroupVersion.Version, r.Resource)
		if _, dup := s.endpoints[k]; dup {
			return nil, fmt.Errorf("resource %s served twice", k)
		}
		s.endpoints[k] = ep
		s.ordered = append(s.ordered, ep)
		if r.TTL > 0 {
			s.store.SetTTL(strings.TrimSuffix(strings.TrimPrefix(ep.prefix, storage.Prefix), "/"), r.TTL)
		}
	}
	for _, r := range reviewResources() {
		ep := newEndpoint(r)
		ep.review = true
		s.endpoints[endpointKey(r.GroupVersion.Group, r.GroupVersion.Version, r.Resource)] = ep
		s.ordered = append(s.ordered, ep)
	}
	s.discovery = newDiscovery(s.ordered, cfg.Scheme)
	s.publishBuiltins()
	s.flow = newFlowControl(s)
	return s, nil
}

func endpointKey(group, version, resource string) string {
	return group + "/" + version + "/" + resource
}

// request is one resource request being served.
type request struct {
	w    http.ResponseWriter
	r    *http.Request
	info requestInfo
	ep   *endpoint
	out  output
	user *User
}

func (rq *request) ctx() context.Context { return rq.r.Context() }

// ServeHTTP is the whole API: health, version, discovery, OpenAPI,
// metrics and resources.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	notes := &auth.Notes{}
	rw := &statusRecorder{ResponseWriter: w, code: http.StatusOK, notes: notes, received: start}
	if s.audit != nil {
		rw.server = s
	}
	r = r.WithContext(auth.WithNotes(r.Context(), notes))
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				s.auditEnd(rw, false)
				panic(p)
			}
			s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
			if !rw.wrote {
				s.writeError(rw, output{mediaType: mediaJSON}, apierrors.NewInternalError(fmt.Errorf("%v", p)))
			}
			s.auditEnd(rw, true)
		} else {
			s.auditEnd(rw, false)
		}
		if rw.info != nil {
			s.metrics.observe(rw.info, rw.code, time.Since(start))
		}
	}()
	s.serve(rw, r)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	received := time.Now()
	if rec, ok := w.(*statusRecorder); ok {
		received = rec.received
	}
	info, isResource := parseResourcePath(r)
	var infop *requestInfo
	if isResource {
		infop = &info
	}
	// The deadline covers everything from here, authentication and
	// authorization webhooks included, as upstream's filter chain.
	r, cancel, err := s.withRequestDeadline(r, infop, received)
	if err != nil {
		s.writeError(w, output{mediaType: mediaJSON}, err)
		return
	}
	defer cancel()
	if rec, ok := w.(*statusRecorder); ok {
		rec.deadline = r.Context()
	}
	user, ok := s.authenticate(r)
	if !ok && s.anonymous.allows(r) {
		user, ok = anonymousUser, true
	}
	if !ok {
		if s.audit != nil {
			s.auditFailedAuthentication(w, r, attributesFor(r, nil, infop), received)
		}
		s.writeError(w, output{mediaType: mediaJSON}, apierrors.NewUnauthorized("Unauthorized"))
		return
	}
	if s.audit != nil {
		s.auditBegin(w, r, user, attributesFor(r, user, infop), received)
	}
	authenticated := user
	if user, ok = s.impersonate(w, r, user); !ok {
		return
	}
	if user != authenticated {
		auditImpersonated(w, user)
	}
	if s.flow != nil {
		// As upstream's filter chain: after impersonation, before
		// authorization.
		s.flow.note(w, r, user, infop)
	}
	if !s.authorizeRequest(w, r, attributesFor(r, user, infop)) {
		return
	}
	if s.serveAggregated(w, r, user) {
		return
	}
	if isResource && info.Verb != "get" && info.Verb != "list" && info.Verb != "watch" {
		// Writes look at who writes: escalation checks, admission, a
		// CSR's requester.
		r = r.WithContext(withUser(r.Context(), user))
	}
	switch {
	case isPublicPath(path):
		// Authorized like any path: the bootstrap policy's
		// system:public-info-viewer lets everyone, anonymous included,
		// read these.
		s.servePublic(w, r)
		return
	case path == "/metrics":
		s.metrics.ServeHTTP(w, r)
		return
	case path == openIDConfigurationPath || path == jwksPath:
		s.serveOpenID(w, r)
		return
	case strings.HasPrefix(path, "/debug/pprof"):
		// Profiling, as upstream's --profiling (on by default), for
		// authenticated clients only.
		servePprof(w, r)
		return
	case strings.HasPrefix(path, "/openapi/"):
		if s.openapi == nil {
			http.NotFound(w, r)
			return
		}
		s.openapi.ServeHTTP(w, r)
		return
	}
	out, ok := negotiate(r)
	if !ok {
		s.writeError(w, output{mediaType: mediaJSON}, notAcceptable())
		return
	}
	if s.serveDiscovery(w, r, out) {
		return
	}
	if !isResource {
		s.writeError(w, out, apierrors.NewNotFound(schemaGR("", ""), ""))
		return
	}
	if s.serveReview(w, r, out, &info, user) {
		return
	}
	ep, ok := s.lookupEndpoint(r.Context(), &info)
	if !ok {
		s.writeError(w, out, notFoundPath(r.URL.Path))
		return
	}
	if ep.custom != nil {
		var err error
		if out, err = s.customOutput(r, &info, ep, out); err != nil {
			s.writeError(w, out, err)
			return
		}
	}
	if rec, ok := w.(*statusRecorder); ok {
		rec.info = &info
	}
	if ep.custom != nil && ep.Convert != nil && info.Verb != "watch" {
		r = r.WithContext(withServedOnce(r.Context()))
	}
	rq := &request{w: w, r: r, info: info, ep: ep, out: out, user: user}
	s.serveResource(rq)
}

// isPublicPath lists the health and version paths, which upstream's
// system:public-info-viewer role lets anyone read.
func isPublicPath(p string) bool {
	switch p {
	case "/healthz", "/livez", "/readyz", "/version", "/version/":
		return true
	}
	return strings.HasPrefix(p, "/healthz/") || strings.HasPrefix(p, "/livez/") || strings.HasPrefix(p, "/readyz/")
}

// Serve answers on l with TLS until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, l net.Listener, tlsConfig *tls.Config) error {
	go func() {
		<-ctx.Done()
		s.health.stopping.Store(true)
	}()
	s.startCustomResources(ctx)
	s.agg.start(ctx)
	if s.flow != nil {
		s.flow.start(ctx)
	}
	srv := &http.Server{
		Handler:           s,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 30 * time.Second,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		ConnContext: func(c context.Context, _ net.Conn) context.Context {
			return withConnVerification(context.WithValue(c, listenerKey{}, ctx))
		},
	}
	return serveUntil(ctx, srv, "serve API", func() error { return srv.ServeTLS(l, "", "") })
}

// serveUntil runs serve, srv's loop, until it fails or ctx ends; then it
// shuts srv down, giving requests in flight 5 seconds (watches end at
// once: see listenerKey).
func serveUntil(ctx context.Context, srv *http.Server, what string, serve func() error) error {
	errc := make(chan error, 1)
	go func() { errc <- serve() }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("%s: %w", what, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	srv.Close()
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// listenerKey carries, in a connection's context, the context of the
// listener it came in on: done once the listener shuts down.
type listenerKey struct{}

// statusRecorder remembers the status code for metrics and panics.
type statusRecorder struct {
	http.ResponseWriter
	code  int
	wrote bool
	// info is set once the request is known to address a served resource.
	info *requestInfo
	// notes holds the admission plugins' warnings, sent as Warning
	// headers with the status line.
	notes *auth.Notes
	// received is when the request came in; audit is its audit event
	// while it is served, server set when auditing is on.
	received time.Time
	audit    *auditRecord
	server   *Server
	// deadline is the request's context when it has a deadline (it is
	// not long-running): errors written once it passed are upstream's
	// timeout.
	deadline context.Context
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.code, r.wrote = code, true
		r.sendWarnings()
		r.auditHeader()
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.wrote = true
		r.sendWarnings()
		r.auditHeader()
	}
	if r.audit != nil && r.audit.response != nil {
		capture(r.audit, r.audit.response, b)
	}
	return r.ResponseWriter.Write(b)
}

// auditHeader notes the response's media type and writes a long-running
// request's ResponseStarted event.
func (r *statusRecorder) auditHeader() {
	if r.audit == nil || r.server == nil {
		return
	}
	r.audit.responseType = r.Header().Get("Content-Type")
	r.server.auditStarted(r)
}

func (r *statusRecorder) sendWarnings() {
	if r.notes != nil {
		warn(r.ResponseWriter, r.notes.Warnings())
	}
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
