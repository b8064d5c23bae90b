package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/kemudi/kemudi/internal/apiserver"
	"github.com/kemudi/kemudi/internal/apiserver/openapi"
	"github.com/kemudi/kemudi/internal/registry/all"
	"github.com/kemudi/kemudi/internal/storage"
)

// ServerOptions configure `kemudi server` (and `kemudi apiserver`).
type ServerOptions struct {
	// DataDir holds etcd's data, the certificates and admin.kubeconfig.
	DataDir string
	// BindAddress and Port are where the API listens (TLS); port 0 picks
	// a free one (tests).
	BindAddress string
	Port        int
	// AdvertiseAddress is the address other machines and pods reach the
	// API at (the kubernetes service's endpoint); empty picks the host's
	// first non-loopback address.
	AdvertiseAddress string
	// ServiceCIDR is where services' cluster IPs come from; NodePorts is
	// the node port range.
	ServiceCIDR netip.Prefix
	NodePorts   apiserver.PortRange
	// SANs are extra names and addresses for the serving certificate.
	SANs []string
	// EtcdServers, when set, use an external etcd cluster instead of the
	// embedded one.
	EtcdServers                           []string
	EtcdCAFile, EtcdCertFile, EtcdKeyFile string
	// ManagedFields says when writes record metadata.managedFields.
	ManagedFields apiserver.ManagedFields
	// AuthorizationModes are the authorizers, in order, after the
	// system:masters bypass: Node, RBAC, AlwaysAllow (upstream's
	// --authorization-mode; default Node,RBAC).
	AuthorizationModes []string
	// AnonymousAuth serves requests without credentials as
	// system:anonymous (upstream's --anonymous-auth, default true).
	AnonymousAuth bool
	// LocalStorage creates the default StorageClass local-path when it
	// is missing (off: --disable local-storage).
	LocalStorage bool
	// AdmissionControlConfigFile is upstream's AdmissionConfiguration
	// (apiserver.config.k8s.io/v1): the PodSecurity plugin's defaults and
	// exemptions.
	AdmissionControlConfigFile string
	// EnableAdmissionPlugins and DisableAdmissionPlugins change which
	// admission plugins run (DefaultAdmissionPlugins unless changed),
	// by upstream's names; they always run in upstream's order.
	EnableAdmissionPlugins, DisableAdmissionPlugins []string
	// EncryptionProviderConfig is upstream's EncryptionConfiguration for
	// data at rest; empty: secrets are sealed with a key the server
	// generates (DefaultEncryptionConfig).
	EncryptionProviderConfig string
	// EncryptionProviderConfigAutomaticReload follows a configured
	// EncryptionProviderConfig as its file changes (the generated one is
	// always followed).
	EncryptionProviderConfigAutomaticReload bool
	// Audit is the audit policy and log (off unless both are given).
	Audit AuditOptions
	// AggregatorDial, when set, is how the API server connects to
	// aggregated API servers' endpoints (tests map the addresses of their
	// EndpointSlices, which may not be loopback, to loopback).
	AggregatorDial func(ctx context.Context, network, addr string) (net.Conn, error)
	// CompactInterval is how often etcd's history is compacted.
	CompactInterval time.Duration
	// RequestTimeout bounds the API's requests that are not long-running
	// (upstream's --request-timeout; 0: apiserver.DefaultRequestTimeout).
	RequestTimeout time.Duration
	// ReleaseStartupPages drops the executable's pages that only start-up
	// touched (see ReleaseStartupPages), and returns the garbage of CRD
	// installs to the system once they settle (apiserver.Config's
	// CRDsSettled); for the server process, not for servers embedded in
	// tests.
	ReleaseStartupPages bool
	Log                 *slog.Logger
}

// DefaultServerOptions are upstream-like defaults.
func DefaultServerOptions() ServerOptions {
	return ServerOptions{
		DataDir:            "/var/lib/kemudi",
		BindAddress:        "0.0.0.0",
		Port:               6443,
		ServiceCIDR:        netip.MustParsePrefix("10.43.0.0/16"),
		NodePorts:          apiserver.PortRange{Base: 30000, Max: 32767},
		CompactInterval:    5 * time.Minute,
		RequestTimeout:     apiserver.DefaultRequestTimeout,
		AuthorizationModes: DefaultAuthorizationModes,
		AnonymousAuth:      true,
		LocalStorage:       true,
		Log:                slog.Default(),
	}
}

// Server is a running control plane.
type Server struct {
	// URL is the API's address; Kubeconfig the admin kubeconfig's path.
	URL        string
	Kubeconfig string
	PKI        *PKI

	dataDir string
	api     *apiserver.Server
	log     *slog.Logger
	// runCtx lives as long as the server; local listeners end with it.
	runCtx  context.Context
	sockets atomic.Int64
	local   sync.WaitGroup // the local listeners
	cancel  context.CancelFunc
	done    chan struct{}
	err     error
}

// StartServer starts etcd and the API server and returns once the API
// answers and the system objects exist.
func StartServer(ctx context.Context, opts ServerOptions) (_ *Server, err error) {
	log := opts.Log.With("component", "server")
	if opts.RequestTimeout < 0 {
		return nil, errors.New("--request-timeout can not be negative value")
	}
	admissionPlugins, err := selectAdmissionPlugins(opts.EnableAdmissionPlugins, opts.DisableAdmissionPlugins, log)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	pki, err := LoadOrCreatePKI(filepath.Join(opts.DataDir, "tls"))
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	var closers []func()
	defer func() {
		if err != nil {
			cancel()
			for i := len(closers) - 1; i >= 0; i-- {
				closers[i]()
			}
		}
	}()

	auditing, closeAudit, err := openAudit(opts.Audit, log)
	if err != nil {
		return nil, err
	}
	closers = append(closers, closeAudit)
	transformers, encReloader, err := loadEncryption(opts.EncryptionProviderConfig, opts.DataDir, opts.EncryptionProviderConfigAutomaticReload, opts.Log.With("component", "encryption"))
	if err != nil {
		return nil, err
	}
	client, closeEtcd, err := openEtcd(ctx, opts, log)
	if err != nil {
		return nil, err
	}
	closers = append(closers, closeEtcd)
	scheme := apiserver.NewScheme()
	store, err := storage.Open(ctx, client, scheme, opts.Log.With("component", "storage"), storage.WithEncryption(transformers))
	if err != nil {
		return nil, err
	}
	closers = append(closers, store.Close)

	saKey, err := LoadOrCreateServiceAccountKey(pki.Dir)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", net.JoinHostPort(opts.BindAddress, strconv.Itoa(opts.Port)))
	if err != nil {
		return nil, fmt.Errorf("listen for the API: %w", err)
	}
	closers = append(closers, func() { l.Close() })
	port := l.Addr().(*net.TCPAddr).Port
	advertise := opts.AdvertiseAddress
	if advertise == "" {
		advertise = hostAddress()
	}

	authz, err := newAuthorization(runCtx, opts.AuthorizationModes, store, opts.Log.With("component", "authorizer"))
	if err != nil {
		return nil, err
	}
	resources := all.Resources()
	admissionParts, err := newAdmissionParts(runCtx, admissionPlugins, opts, store, scheme, resources, authz.authorizer)
	if err != nil {
		return nil, err
	}
	admissionChain, err := assembleAdmission(admissionPlugins, admissionParts)
	if err != nil {
		return nil, err
	}
	kubeletClient, err := pki.KubeletClientConfig()
	if err != nil {
		return nil, err
	}
	frontProxy, err := pki.FrontProxy()
	if err != nil {
		return nil, err
	}
	api, err := apiserver.New(apiserver.Config{
		Authorizer:        authz.authorizer,
		Rules:             authz.rules,
		RBAC:              authz.rbac,
		Store:             store,
		Scheme:            scheme,
		Resources:         resources,
		OpenAPI:           openapi.New(resources).Handler(),
		MetricsCollectors: append(encryptionMetrics(encReloader), admissionParts.collectors()...),
		ServiceCIDR:       opts.ServiceCIDR,
		ManagedFields:     opts.ManagedFields,
		NodePorts:         opts.NodePorts,
		Authenticator: apiserver.Authenticators{
			apiserver.ClientCertAuthenticator{Roots: pki.CAPool},
			bootstrapTokens(store, opts.Log.With("component", "authenticator")),
		},
		Anonymous: anonymousAuth(opts.AnonymousAuth, opts.AuthorizationModes, log),
		Admission: admissionChain,
		Mutating:  admissionChain,
		ServiceAccountTokens: &apiserver.ServiceAccountTokens{
			Key:     saKey,
			Issuer:  apiserver.DefaultIssuer,
			JWKSURI: "https://" + net.JoinHostPort(advertise, strconv.Itoa(port)) + "/openid/v1/jwks",
		},
		KubeletClient:  kubeletClient,
		Aggregator:     apiserver.AggregatorConfig{ProxyClientCert: frontProxy.Cert.GetClientCertificate, Dial: opts.AggregatorDial},
		Audit:          auditing,
		RequestTimeout: opts.RequestTimeout,
		CRDsSettled:    crdsSettled(opts),
		Log:            opts.Log.With("component", "apiserver"),
	})
	if err != nil {
		return nil, err
	}

	steps := startupSteps(api)
	kubernetesIP := firstServiceIP(opts.ServiceCIDR)
	hosts := append([]string{"localhost", "127.0.0.1", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", kubernetesIP.String(), advertise}, opts.SANs...)
	if h, err := os.Hostname(); err == nil {
		hosts = append(hosts, h)
	}
	// The CA goes with the serving certificate so that a joining node can
	// check it against the hash its join token pins (see JoinToken). It is
	// renewed while the server runs (certrotate.go).
	serving, err := pki.NewRotatingServingCert("serving", hosts, true)
	if err != nil {
		l.Close()
		return nil, err
	}
	admin, err := pki.ClientCert("admin", "system:admin", []string{"system:masters"})
	if err != nil {
		l.Close()
		return nil, err
	}
	s := &Server{
		URL:        "https://" + net.JoinHostPort(clientAddress(opts.BindAddress), strconv.Itoa(port)),
		Kubeconfig: filepath.Join(opts.DataDir, "admin.kubeconfig"),
		PKI:        pki,
		dataDir:    opts.DataDir,
		api:        api,
		log:        log,
		runCtx:     runCtx,
		cancel:     cancel,
		done:       make(chan struct{}),
	}
	if err := WriteKubeconfig(s.Kubeconfig, s.URL, pki.CAPEM(), admin); err != nil {
		l.Close()
		return nil, err
	}
	tlsConfig := &tls.Config{
		GetCertificate: serving.GetCertificate,
		ClientCAs:      pki.CAPool,
		// Asked for, not verified in the handshake: as upstream's, the
		// authenticator verifies it, so that one from another CA gets
		// 401, and a request without one is anonymous.
		ClientAuth: tls.RequestClientCert,
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- api.Serve(runCtx, l, tlsConfig) }()
	steps.done(stepsServing...)
	go store.RunCompactor(runCtx, opts.CompactInterval)
	go serving.Run(runCtx, time.Hour)
	if err := s.runAPIExtensions(); err != nil {
		return nil, err
	}
	steps.done(stepsAPIExtensions...)
	if err := s.runAPIRegistration(frontProxy, opts.AggregatorDial); err != nil {
		return nil, err
	}
	steps.done(stepsAPIRegistration...)
	if err := s.addStartupChecks(api); err != nil {
		return nil, err
	}
	if encReloader != nil {
		go encReloader.Run(runCtx, encryptionReloadInterval)
	}

	system := systemObjects(kubernetesIP, advertise, port)
	if err := api.EnsureObjects(ctx, system...); err != nil {
		return nil, fmt.Errorf("create system objects: %w", err)
	}
	steps.done(stepsSystemObjects...)
	if opts.LocalStorage {
		if err := ensureLocalStorage(ctx, api); err != nil {
			return nil, err
		}
	}
	tokenPath, err := ensureNodeToken(ctx, api, opts.DataDir, pki)
	if err != nil {
		return nil, err
	}
	if err := s.publishClusterInfo(ctx, "https://"+net.JoinHostPort(advertise, strconv.Itoa(port)), admin); err != nil {
		return nil, err
	}
	if err := authz.waitFor(ctx, append(append(system, nodeBootstrapPolicy()...), clusterInfoRBAC()...)); err != nil {
		return nil, err
	}
	if opts.ReleaseStartupPages {
		if n, err := ReleaseStartupPages(); err != nil {
			log.Warn("release start-up pages", "err", err)
		} else {
			log.Debug("released start-up pages", "bytes", n)
		}
	}
	log.Info("API server ready", "url", s.URL, "kubeconfig", s.Kubeconfig, "node-token", tokenPath)
	go func() {
		defer close(s.done)
		err := <-serveErr
		s.local.Wait()
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			s.err = err
		}
	}()
	return s, nil
}

// Wait blocks until the server stopped and returns why.
func (s *Server) Wait() error {
	<-s.done
	return s.err
}

// Stop shuts the server down and waits for it.
func (s *Server) Stop() error {
	s.cancel()
	return s.Wait()
}

func openEtcd(ctx context.Context, opts ServerOptions, log *slog.Logger) (*clientv3.Client, func(), error) {
	if len(opts.EtcdServers) == 0 {
		e, err := storage.StartEmbedded(ctx, filepath.Join(opts.DataDir, "etcd"), log)
		if err != nil {
			return nil, nil, err
		}
		return e.Client(), e.Close, nil
	}
	var tlsConfig *tls.Config
	if opts.EtcdCAFile != "" || opts.EtcdCertFile != "" {
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		if opts.EtcdCAFile != "" {
			caPEM, err := os.ReadFile(opts.EtcdCAFile)
			if err != nil {
				return nil, nil, fmt.Errorf("etcd CA: %w", err)
			}
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(caPEM)
			tlsConfig.RootCAs = pool
		}
		if opts.EtcdCertFile != "" {
			cert, err := tls.LoadX509KeyPair(opts.EtcdCertFile, opts.EtcdKeyFile)
			if err != nil {
				return nil, nil, fmt.Errorf("etcd client certificate: %w", err)
			}
			tlsConfig.Certificates = []tls.Certificate{cert}
		}
	}
	client, err := storage.Connect(ctx, opts.EtcdServers, tlsConfig)
	if err != nil {
		return nil, nil, err
	}
	return client, func() { client.Close() }, nil
}
