package registry_test

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kemudi/kemudi/internal/addons/registry"
)

// testRegistry is a registry served over TLS on 127.0.0.1 with a
// certificate from a fresh cluster CA.
type testRegistry struct {
	reg      *registry.Registry
	layout   registry.Layout
	ca       *testCA
	host     string // 127.0.0.1:PORT
	password string // admin's
}

type fixtureOptions struct {
	storage string // the storage dir, when not under the data dir
	// gcInterval and gcQuiet run the GC timer (default: off).
	gcInterval, gcQuiet time.Duration
}

func startRegistry(t *testing.T, fo ...fixtureOptions) *testRegistry {
	t.Helper()
	dataDir := t.TempDir()
	layout := registry.NewLayout(dataDir)
	if err := os.MkdirAll(filepath.Dir(layout.CA), 0o700); err != nil {
		t.Fatal(err)
	}
	ca := newTestCA(t, layout.CA)
	cert := ca.issue(t, "registry", nil, []string{"127.0.0.1", "localhost"})
	opts := fixtureOptions{gcInterval: -1}
	if len(fo) > 0 {
		opts = fo[0]
	}
	if opts.storage != "" {
		layout.Storage = opts.storage
	}
	ctx, cancel := context.WithCancel(context.Background())
	reg, err := registry.New(ctx, registry.Options{Layout: layout, Certificate: cert, ClientCAs: ca.pool, GCInterval: opts.gcInterval, GCQuiet: opts.gcQuiet})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- reg.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("registry Serve: %v", err)
		}
	})
	// Serving once it answers (and holding its lock).
	for deadline := time.Now().Add(30 * time.Second); ; {
		c := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}}}
		if resp, err := c.Get("https://" + l.Addr().String() + "/v2/"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the registry does not answer")
		}
		time.Sleep(20 * time.Millisecond)
	}
	pw, err := os.ReadFile(layout.Password)
	if err != nil {
		t.Fatal(err)
	}
	return &testRegistry{reg: reg, layout: layout, ca: ca, host: l.Addr().String(), password: strings.TrimSpace(string(pw))}
}

// client is an HTTP client that trusts the cluster CA.
func (r *testRegistry) client(certs ...tls.Certificate) *http.Client {
	return &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: r.ca.pool, Certificates: certs}},
	}
}
