package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/kubelet/metrics"
	"github.com/kemudi/kemudi/internal/kubelet/volume"
)

// DefaultPort is upstream's kubelet port.
const DefaultPort = 10250

// Config is what a kubelet server is built from.
type Config struct {
	NodeName string
	// Runtime is the CRI runtime the kubelet runs pods with.
	Runtime runtimeapi.RuntimeServiceClient
	// Client is the kubelet's API client: pods bound to the node,
	// TokenReviews and SubjectAccessReviews.
	Client kubernetes.Interface
	// ClientCAs verifies client certificates (the cluster CA).
	ClientCAs *x509.CertPool
	// GetCertificate returns the serving certificate for each handshake,
	// so that a rotated one (from a CSR) is picked up without a restart.
	GetCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	// RootDir is the kubelet's state directory: the node's filesystem in
	// /stats/summary.
	RootDir string
	// ProbeMetrics are the prober's counters, served on /metrics/probes
	// (nil: an empty page).
	ProbeMetrics prometheus.Gatherer
	// Metrics are the kubelet's own, served on /metrics with this
	// server's requests counted in (nil: only the running pods and
	// containers).
	Metrics *metrics.Metrics
	// NodeLogDir is the directory /logs/ serves ("" is /var/log).
	NodeLogDir string
	// PodLogDir is where the kubelet has pods' logs written ("" is
	// /var/log/pods): containers' logs in /stats/summary.
	PodLogDir string
	// Images is the runtime's image service: the image filesystem in
	// /stats/summary (nil: none reported).
	Images runtimeapi.ImageServiceClient
	// VolumeStatsAggPeriod is how often pods' volumes are measured for
	// /stats/summary and the volume metrics (0: a minute, as upstream's
	// --volume-stats-agg-period; negative: never, as upstream).
	VolumeStatsAggPeriod time.Duration
	Log                  *slog.Logger
}

// Server is the kubelet's HTTPS API.
type Server struct {
	cfg   Config
	log   *slog.Logger
	pods  corelisters.PodLister
	inf   cache.SharedIndexInformer
	authn *authenticator
	authz *authorizer
	stats *statsCache
	// volumes are the pods' volumes' figures, measured in the background.
	volumes *volumeStatsCache
	mux     *http.ServeMux
	// running gathers the running pods and containers from the runtime.
	running *prometheus.Registry
}

// New builds the server; Serve starts it.
func New(cfg Config) (*Server, error) {
	if cfg.Runtime == nil || cfg.Client == nil || cfg.GetCertificate == nil {
		return nil, errors.New("kubelet server: runtime, API client and serving certificate are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.NodeLogDir == "" {
		cfg.NodeLogDir = DefaultNodeLogDir
	}
	if cfg.PodLogDir == "" {
		cfg.PodLogDir = DefaultPodLogDir
	}
	inf := informers.NewSharedInformerFactoryWithOptions(cfg.Client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", cfg.NodeName).String()
	})).Core().V1().Pods()
	s := &Server{
		cfg:     cfg,
		log:     cfg.Log.With("component", "kubelet-server"),
		pods:    inf.Lister(),
		inf:     inf.Informer(),
		authn:   newAuthenticator(cfg.Client, cfg.ClientCAs),
		authz:   newAuthorizer(cfg.Client, cfg.NodeName),
		stats:   &statsCache{},
		running: prometheus.NewRegistry(),
	}
	podsDir := ""
	if cfg.RootDir != "" {
		podsDir = volume.PodsDir(cfg.RootDir)
	}
	s.volumes = newVolumeStatsCache(cfg.VolumeStatsAggPeriod, podsDir, cfg.Client,
		func() ([]*corev1.Pod, error) { return s.pods.List(labels.Everything()) }, s.log)
	s.running.MustRegister(runningCollector{cfg.Runtime}, volumeStatsCollector{s.volumes})
	s.mux = s.routes()
	return s, nil
}

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("GET /pods", s.servePods)
	mux.HandleFunc("GET /runningpods/", s.serveRunningPods)
	mux.HandleFunc("GET /containerLogs/{ns}/{pod}/{container}", s.serveContainerLogs)
	for _, m := range []string{"GET", "POST"} {
		mux.HandleFunc(m+" /exec/{ns}/{pod}/{container}", s.serveExec)
		mux.HandleFunc(m+" /exec/{ns}/{pod}/{uid}/{container}", s.serveExec)
		mux.HandleFunc(m+" /attach/{ns}/{pod}/{container}", s.serveAttach)
		mux.HandleFunc(m+" /attach/{ns}/{pod}/{uid}/{container}", s.serveAttach)
		mux.HandleFunc(m+" /portForward/{ns}/{pod}", s.servePortForward)
		mux.HandleFunc(m+" /portForward/{ns}/{pod}/{uid}", s.servePortForward)
	}
	mux.HandleFunc("GET /stats/summary", s.serveSummary)
	mux.HandleFunc("GET /metrics/resource", s.serveMetricsResource)
	mux.HandleFunc("GET /metrics/cadvisor", s.serveMetricsCadvisor)
	mux.HandleFunc("GET /metrics/probes", s.serveMetricsProbes)
	mux.HandleFunc("GET /metrics", s.serveMetrics)
	mux.HandleFunc("POST /run/{ns}/{pod}/{container}", s.serveRun)
	mux.HandleFunc("POST /run/{ns}/{pod}/{uid}/{container}", s.serveRun)
	// Upstream's /logs (no slash) finds no file.
	mux.HandleFunc("GET /logs", http.NotFound)
	mux.HandleFunc("GET /logs/", s.serveNodeLogs)
	return mux
}

// ServeHTTP authenticates and authorizes every request, then serves it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Counted before authentication, as upstream.
	s.cfg.Metrics.HTTPRequest(metricLabels(r.Method, r.URL.Path))
	u, ok := s.authn.authenticate(r)
	if !ok {
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	allowed, attrs, err := s.authz.authorize(r.Context(), u, r)
	if err != nil {
		s.log.Warn("authorize", "user", u.Username, "path", r.URL.Path, "err", err)
		http.Error(w, fmt.Sprintf("Authorization error (user=%s, verb=%s, resource=%s, subresource=%s)", u.Username, attrs.Verb, attrs.Resource, attrs.Subresource), http.StatusInternalServerError)
		return
	}
	if !allowed {
		http.Error(w, fmt.Sprintf("Forbidden (user=%s, verb=%s, resource=%s, subresource=%s)", u.Username, attrs.Verb, attrs.Resource, attrs.Subresource), http.StatusForbidden)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// Serve serves HTTPS on l until ctx ends.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	go s.inf.Run(ctx.Done())
	go s.volumes.run(ctx, s.inf.HasSynced)
	tlsConfig := &tls.Config{
		GetCertificate: s.cfg.GetCertificate,
		ClientCAs:      s.cfg.ClientCAs,
		// Verified when given; a request without one needs a token.
		ClientAuth: tls.VerifyClientCertIfGiven,
		MinVersion: tls.VersionTLS12,
		// Streams upgrade HTTP/1.1 connections.
		NextProtos: []string{"http/1.1"},
	}
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	stop := context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if hs.Shutdown(sctx) != nil {
			hs.Close()
		}
	})
	defer stop()
	s.log.Info("kubelet server listening", "addr", l.Addr().String())
	if err := hs.Serve(tls.NewListener(l, tlsConfig)); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("kubelet server: %w", err)
	}
	return nil
}

// pod is the pod of the node named so, or an error that says why not.
func (s *Server) pod(ns, name string) (*corev1.Pod, error) {
	p, err := s.pods.Pods(ns).Get(name)
	if err != nil {
		return nil, httpError{http.StatusNotFound, fmt.Sprintf("pod %q/%q not found", ns, name)}
	}
	return p, nil
}

// httpError is an error with the status it is answered with.
type httpError struct {
	code int
	msg  string
}

func (e httpError) Error() string { return e.msg }

func writeError(w http.ResponseWriter, err error) {
	var he httpError
	if errors.As(err, &he) {
		http.Error(w, he.msg, he.code)
		return
	}
	http.Error(w, err.Error(), http.StatusInternalServerError)
}
