package registry

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/distribution/distribution/v3"
	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/auth"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/distribution/distribution/v3/registry/storage"
	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/distribution/distribution/v3/registry/storage/driver/filesystem"

	// The token access controller registers itself by name with
	// distribution's auth package; the App looks it up from its config.
	_ "github.com/distribution/distribution/v3/registry/auth/token"
)

// Options configure the registry.
type Options struct {
	Layout Layout
	// Addr is where it listens, e.g. ":5000".
	Addr string
	// Certificate is the serving certificate (signed by the cluster CA),
	// or GetCertificate gives it at each handshake (one renewed while the
	// registry runs); ClientCAs verify the client certificates nodes
	// present to the token endpoint (the cluster CA).
	Certificate    tls.Certificate
	GetCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	ClientCAs      *x509.CertPool
	// GCInterval is how often unreferenced blobs are collected (0: every
	// hour; negative: never). A collection waits until no write has come
	// for GCQuiet, so that it never sweeps the blobs of a push whose
	// manifest is still to come.
	GCInterval time.Duration
	GCQuiet    time.Duration
	Log        *slog.Logger
}

// Registry is the embedded registry.
type Registry struct {
	opts      Options
	app       *handlers.App
	driver    storagedriver.StorageDriver
	ns        distribution.Namespace
	access    auth.AccessController
	token     *tokenHandler
	referrers *referrerIndex
	log       *slog.Logger

	// gcLock: writes hold it shared, a collection exclusively.
	gcLock    sync.RWMutex
	lastWrite syncTime
}

// New prepares the registry's files (storage, the token key, the admin
// user on first start) and its handlers; Serve or Run serve it.
func New(ctx context.Context, o Options) (*Registry, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.GCInterval == 0 {
		o.GCInterval = time.Hour
	}
	if o.GCQuiet == 0 {
		o.GCQuiet = 10 * time.Minute
	}
	log := o.Log.With("component", "registry")
	l := o.Layout
	for _, d := range []string{l.Dir, l.Storage, l.Referrers} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("registry: %w", err)
		}
	}
	created, err := EnsureAdmin(l.Users, l.Password)
	if err != nil {
		return nil, err
	}
	if created {
		log.Info("registry user admin created; its password is in the file", "password-file", l.Password)
	}
	key, err := loadOrCreateTokenKey(l.TokenKey, l.TokenJWKS)
	if err != nil {
		return nil, err
	}
	secret, err := loadOrCreateSecret(l.Dir + "/http-secret")
	if err != nil {
		return nil, err
	}
	authParams := configuration.Parameters{
		// The realm follows the host the client used (127.0.0.1:5000 on
		// the server, the server's address on other nodes).
		"realm": "", "autoredirect": true, "autoredirectpath": TokenPath,
		"issuer": tokenIssuer, "service": Service, "jwks": l.TokenJWKS,
	}
	cfg := &configuration.Configuration{
		Storage: configuration.Storage{
			"filesystem": configuration.Parameters{"rootdirectory": l.Storage},
			"delete":     configuration.Parameters{"enabled": true},
		},
		Auth: configuration.Auth{"token": authParams},
	}
	cfg.HTTP.Secret = secret
	// What distribution's config parser would default to.
	cfg.Catalog.MaxEntries, cfg.Tags.MaxTags = 1000, 1000
	// Layers that live elsewhere (foreign, non-distributable) are
	// allowed, as OCI 1.1 allows them.
	cfg.Validation.Manifests.URLs.Allow = []string{"^https?://"}
	app, err := newApp(ctx, cfg)
	if err != nil {
		return nil, err
	}
	access, err := auth.GetAccessController("token", authParams)
	if err != nil {
		return nil, fmt.Errorf("registry access controller: %w", err)
	}
	driver := filesystem.New(filesystem.DriverParameters{RootDirectory: l.Storage, MaxThreads: 100})
	ns, err := storage.NewRegistry(ctx, driver, storage.EnableDelete)
	if err != nil {
		return nil, fmt.Errorf("registry storage: %w", err)
	}
	return &Registry{
		opts: o, app: app, driver: driver, ns: ns, access: access, log: log,
		token:     &tokenHandler{key: key, users: newUserDB(l.Users), log: log},
		referrers: &referrerIndex{dir: l.Referrers, ns: ns},
	}, nil
}

// newApp builds distribution's App, which panics on a bad config.
func newApp(ctx context.Context, cfg *configuration.Configuration) (app *handlers.App, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("registry: %v", r)
		}
	}()
	return handlers.NewApp(ctx, cfg), nil
}

func loadOrCreateSecret(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	s := hex.EncodeToString(buf)
	// Kept, so that an upload started before a restart resumes after it.
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		return "", fmt.Errorf("registry secret: %w", err)
	}
	return s, nil
}

// Handler serves the token endpoint, the referrers API and everything
// else through distribution's App.
func (r *Registry) Handler() http.Handler {
	return http.HandlerFunc(r.serveHTTP)
}

func (r *Registry) serveHTTP(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path == TokenPath {
		r.token.ServeHTTP(w, req)
		return
	}
	if name, dgst, ok := referrersPath(req.URL.Path); ok {
		r.serveReferrers(w, req, name, dgst)
		return
	}
	if algo, ok := unsupportedDigest(req); ok {
		registryError(w, http.StatusBadRequest, "DIGEST_INVALID", "unsupported digest algorithm "+algo+": sha256 and sha512 are")
		return
	}
	if sw, sreq, after, ok := r.sha512Request(w, req); ok {
		if sreq == nil {
			return // answered
		}
		if after != nil {
			defer after()
		}
		w, req = sw, sreq
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead && req.Method != http.MethodOptions {
		r.gcLock.RLock()
		defer r.gcLock.RUnlock()
		defer r.lastWrite.set(time.Now())
		if name, ok := manifestPutPath(req); ok {
			r.putManifest(w, req, name)
			return
		}
		if isUploadWrite(req) {
			r.serveUploadWrite(w, req)
			return
		}
	}
	r.app.ServeHTTP(w, req)
}

// TLSConfig is the serving TLS configuration: the registry's certificate,
// and client certificates from the cluster CA verified when given (nodes
// pull with them).
func (r *Registry) TLSConfig() *tls.Config {
	c := &tls.Config{
		ClientCAs:  r.opts.ClientCAs,
		ClientAuth: tls.VerifyClientCertIfGiven,
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
	}
	if r.opts.GetCertificate != nil {
		c.GetCertificate = r.opts.GetCertificate
	} else {
		c.Certificates = []tls.Certificate{r.opts.Certificate}
	}
	return c
}

// Run listens on Options.Addr and serves until ctx ends.
func (r *Registry) Run(ctx context.Context) error {
	l, err := net.Listen("tcp", r.opts.Addr)
	if err != nil {
		return fmt.Errorf("registry: listen: %w", err)
	}
	return r.Serve(ctx, l)
}

// Serve serves TLS on l until ctx ends, collecting garbage on the
// timer.
func (r *Registry) Serve(ctx context.Context, l net.Listener) error {
	// Held while serving: an offline collection refuses to run beside
	// it (and serving waits for one that runs).
	held, err := lock(r.opts.Layout, syscall.LOCK_SH)
	if err != nil {
		return err
	}
	defer held.Close()
	srv := &http.Server{
		Handler:           r.Handler(),
		TLSConfig:         r.TLSConfig(),
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(r.log.Handler(), slog.LevelDebug),
		// HTTP/2's default receive windows (1 MiB a connection) make a
		// client pushing several blobs over one connection stop for a
		// window update every MiB.
		HTTP2: &http.HTTP2Config{MaxReceiveBufferPerConnection: 64 << 20, MaxReceiveBufferPerStream: 16 << 20},
	}
	gcDone := make(chan struct{})
	go func() { defer close(gcDone); r.gcLoop(ctx) }()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	r.log.Info("registry serving", "addr", l.Addr().String(), "ca", r.opts.Layout.CA)
	err = srv.ServeTLS(l, "", "")
	<-gcDone
	r.app.Shutdown()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// syncTime is a time read and written from several goroutines.
type syncTime struct {
	mu sync.Mutex
	t  time.Time
}

func (s *syncTime) set(t time.Time) { s.mu.Lock(); s.t = t; s.mu.Unlock() }
func (s *syncTime) get() time.Time  { s.mu.Lock(); defer s.mu.Unlock(); return s.t }
