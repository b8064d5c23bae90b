package cluster

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/kemudi/kemudi/internal/cri/image"
	"github.com/kemudi/kemudi/internal/testimages"
)

// TestNodePullsFromClusterRegistry: the server's node pulls from the
// registry with no password, through the registries config
// ServerNodeRegistries writes (cluster CA, the agent's client
// certificate), merged with the user's own.
func TestNodePullsFromClusterRegistry(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("unpacking images needs root")
	}
	dataDir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ro := DefaultRegistryOptions(dataDir)
	ro.BindAddress, ro.Port, ro.AdvertiseAddress, ro.GCInterval = "127.0.0.1", l.Addr().(*net.TCPAddr).Port, "127.0.0.1", -1
	ctx, cancel := context.WithCancel(context.Background())
	reg, err := NewRegistry(ctx, ro, testLogger(t))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- reg.Serve(ctx, l) }()
	t.Cleanup(func() { cancel(); <-done })

	// An admin pushes.
	pw, err := os.ReadFile(ro.Layout().Password)
	if err != nil {
		t.Fatal(err)
	}
	pki, err := LoadOrCreatePKI(filepath.Join(dataDir, "tls"))
	if err != nil {
		t.Fatal(err)
	}
	host := l.Addr().String()
	img, _ := testimages.Busybox()
	ref, _ := name.ParseReference(host + "/alifah/busybox:1")
	tr := httpsTransport(pki)
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "admin", Password: strings.TrimSpace(string(pw))}), remote.WithTransport(tr)); err != nil {
		t.Fatalf("push: %v", err)
	}

	// The node: its certificate as RunComponents makes it for "agent".
	if _, err := pki.ClientCert("agent", "system:node:n1", []string{"system:nodes"}); err != nil {
		t.Fatal(err)
	}
	user := filepath.Join(dataDir, "user-registries.yaml")
	os.WriteFile(user, []byte("mirrors:\n  docker.io:\n    endpoint: [\"https://mirror.invalid\"]\n"), 0o644)
	ao := DefaultAgentOptions(dataDir)
	ao.Runtime.RegistryConfig = user
	if err := ServerNodeRegistries(&ao, ro); err != nil {
		t.Fatal(err)
	}
	written, _ := os.ReadFile(ao.Runtime.RegistryConfig)
	if !strings.Contains(string(written), "mirror.invalid") || !strings.Contains(string(written), host) {
		t.Fatalf("registries config lost the user's mirror or lacks the registry:\n%s", written)
	}
	store, err := image.Open(image.Options{Root: filepath.Join(t.TempDir(), "images"), RegistryConfig: ao.Runtime.RegistryConfig, Log: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := store.Pull(t.Context(), host+"/alifah/busybox:1", nil)
	if err != nil {
		t.Fatalf("node pull without a password: %v", err)
	}
	want, _ := img.Digest()
	if !strings.Contains(got.ID+" "+strings.Join(got.RepoDigests, " "), want.String()) {
		t.Errorf("pulled %+v, want digest %s", got, want)
	}

	// Without the node certificate, the same pull is refused.
	ao2 := DefaultAgentOptions(dataDir)
	nr := NodeRegistry{Hosts: []string{host}, CAFile: filepath.Join(dataDir, "tls", "ca.crt")}
	cfg2 := filepath.Join(t.TempDir(), "registries.yaml")
	if err := WriteNodeRegistries(cfg2, ao2.Runtime.RegistryConfig, nr); err != nil {
		t.Fatal(err)
	}
	store2, err := image.Open(image.Options{Root: filepath.Join(t.TempDir(), "images"), RegistryConfig: cfg2, Log: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store2.Pull(t.Context(), host+"/alifah/busybox:1", nil); err == nil || !strings.Contains(err.Error(), "UNAUTHORIZED") {
		t.Errorf("pull with neither password nor node certificate: %v, want unauthorized", err)
	}
}

func TestWriteNodeRegistriesMirrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registries.yaml")
	nr := NodeRegistry{Hosts: []string{"10.0.0.1:5000"}, Mirrored: []string{"127.0.0.1:5000", "localhost:5000"}, CAFile: "/ca.crt", CertFile: "/c.crt", KeyFile: "/c.key"}
	if err := WriteNodeRegistries(path, "", nr); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	cfg, err := image.ParseRegistriesConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range nr.Mirrored {
		if e := cfg.Mirrors[m].Endpoints; len(e) != 1 || e[0] != "https://10.0.0.1:5000" {
			t.Errorf("mirror of %s = %v, want the server's registry", m, e)
		}
	}
	if tls := cfg.Configs["10.0.0.1:5000"].TLS; tls == nil || tls.CertFile != "/c.crt" || tls.CAFile != "/ca.crt" {
		t.Errorf("TLS of the server's registry = %+v", tls)
	}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func httpsTransport(pki *PKI) http.RoundTripper {
	return &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.CAPool}}
}
