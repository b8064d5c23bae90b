package image

import (
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestParseRegistriesConfig(t *testing.T) {
	tests := []struct {
		name, yaml, wantErr string
	}{
		{name: "empty", yaml: ""},
		{name: "k3s example", yaml: `
mirrors:
  docker.io:
    endpoint:
      - "https://mirror.example.com:5000"
      - "http://127.0.0.1:5001"
      - "registry.example.com"
    rewrite:
      "^rancher/(.*)": "mirror/rancher-images/$1"
  "*":
    endpoint: ["https://all.example.com/v2"]
configs:
  "mirror.example.com:5000":
    auth:
      username: xxx
      password: yyy
    tls:
      cert_file: /c.pem
      key_file: /k.pem
      ca_file: /ca.pem
  "registry.example.com":
    auth: {auth: dXNlcjpwYXNz, identity_token: tok}
    tls: {insecure_skip_verify: true}
`},
		{name: "misspelt endpoints", yaml: "mirrors:\n  docker.io:\n    endpoints: [\"http://x\"]\n", wantErr: `unknown field "endpoints"`},
		{name: "unknown top-level key", yaml: "mirror: {}\n", wantErr: `unknown field "mirror"`},
		{name: "bad scheme", yaml: "mirrors:\n  docker.io:\n    endpoint: [\"ftp://x\"]\n", wantErr: "scheme must be http or https"},
		{name: "endpoint with a path", yaml: "mirrors:\n  docker.io:\n    endpoint: [\"https://x/some/path\"]\n", wantErr: "paths are not supported"},
		{name: "endpoint with credentials", yaml: "mirrors:\n  docker.io:\n    endpoint: [\"https://u:p@x\"]\n", wantErr: "want scheme://host"},
		{name: "empty endpoint host", yaml: "mirrors:\n  docker.io:\n    endpoint: [\"https://\"]\n", wantErr: "want scheme://host"},
		{name: "bad rewrite", yaml: "mirrors:\n  docker.io:\n    rewrite: {\"(\": \"x\"}\n", wantErr: "rewrite"},
		{name: "cert without key", yaml: "configs:\n  x:\n    tls: {cert_file: /c.pem}\n", wantErr: "cert_file and key_file go together"},
		{name: "not yaml", yaml: "mirrors: [", wantErr: "registries config"},
		{name: "wrong type", yaml: "mirrors:\n  docker.io:\n    endpoint: 5\n", wantErr: "registries config"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRegistriesConfig([]byte(tc.yaml))
			if tc.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// TestRegistrySources: where a pull goes, without pulling (docker.io must
// not be contacted from a test).
func TestRegistrySources(t *testing.T) {
	cfg, err := ParseRegistriesConfig([]byte(`
mirrors:
  docker.io:
    endpoint: ["http://127.0.0.1:5000", "https://mirror.example"]
    rewrite: {"^library/(.*)": "hub/$1"}
  "*":
    endpoint: ["https://any.example"]
  self.example:
    endpoint: ["https://self.example"]
`))
	if err != nil {
		t.Fatal(err)
	}
	r := &registries{cfg: *cfg}
	tests := []struct {
		registry, repo string
		want           []string
	}{
		{"docker.io", "library/busybox", []string{"http://127.0.0.1:5000/hub/busybox mirror", "https://mirror.example/hub/busybox mirror", "https://registry-1.docker.io/library/busybox"}},
		{"quay.io", "app", []string{"https://any.example/app mirror", "https://quay.io/app"}},
		{"self.example", "app", []string{"https://self.example/app mirror"}},
	}
	for _, tc := range tests {
		var got []string
		for _, s := range r.sources(tc.registry, tc.repo) {
			scheme := "https"
			if s.plainHTTP {
				scheme = "http"
			}
			g := scheme + "://" + s.host + "/" + s.repo
			if s.mirror {
				g += " mirror"
			}
			got = append(got, g)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s/%s: %q, want %q", tc.registry, tc.repo, got, tc.want)
		}
	}
}

func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "registries.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPullThroughMirror: a registry that does not exist (localhost:1)
// served by two mirror endpoints, the first broken, the second keeping
// the images under another repository (rewrite).
func TestPullThroughMirror(t *testing.T) {
	requireRoot(t)
	broken := newRegistry(t, status(http.StatusInternalServerError, ""))
	reg := newRegistry(t)
	img := mustImage(t, v1.Config{}, mustLayer(t, F{Path: "m", Content: "mirrored"}))
	byDigest := mustPush(t, reg, "mirrored/app:1", img)
	cfg := writeConfig(t, fmt.Sprintf(`
mirrors:
  "localhost:1":
    endpoint: ["http://%s", "http://%s"]
    rewrite: {"^team/(.*)": "mirrored/$1"}
`, broken.Host, reg.Host))
	s := newStore(t, Options{RegistryConfig: cfg})
	got, err := s.Pull(context.Background(), "localhost:1/team/app:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Named as asked, not as mirrored.
	wantDigest := "localhost:1/team/app@" + strings.SplitN(byDigest, "@", 2)[1]
	if !slices.Equal(got.RepoTags, []string{"localhost:1/team/app:1"}) || !slices.Equal(got.RepoDigests, []string{wantDigest}) {
		t.Errorf("got %v %v", got.RepoTags, got.RepoDigests)
	}
}

func TestPullTLS(t *testing.T) {
	requireRoot(t)
	srv := httptest.NewTLSServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "https://")
	ref, err := name.NewTag(host + "/secure:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, mustImage(t, v1.Config{}, mustLayer(t, F{Path: "s", Content: "s"})), remote.WithTransport(srv.Client().Transport)); err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, yaml, wantErr string
	}{
		{name: "unknown CA", yaml: "", wantErr: "certificate"},
		{name: "ca_file", yaml: fmt.Sprintf("configs:\n  %q:\n    tls: {ca_file: %q}\n", host, caFile)},
		{name: "insecure_skip_verify", yaml: fmt.Sprintf("configs:\n  %q:\n    tls: {insecure_skip_verify: true}\n", host)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t, Options{RegistryConfig: writeConfig(t, tc.yaml)})
			_, err := s.Pull(context.Background(), ref.String(), nil)
			if tc.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// TestPlainHTTPRefused: plain HTTP only to loopback and http:// endpoints
// (go-containerregistry alone would try it for private addresses too).
// The request is refused before any connection.
func TestPlainHTTPRefused(t *testing.T) {
	s := newStore(t, Options{})
	tests := []struct {
		ep      endpoint
		url     string
		allowed bool
	}{
		{endpoint{host: "10.1.2.3:5000"}, "http://10.1.2.3:5000/v2/", false},
		{endpoint{host: "10.1.2.3:5000", plainHTTP: true}, "http://10.1.2.3:5000/v2/", true},
		{endpoint{host: "127.0.0.1:5000"}, "http://127.0.0.1:5000/v2/", true},
		{endpoint{host: "localhost:5000"}, "http://localhost:5000/v2/", true},
	}
	for _, tc := range tests {
		tr := s.transport(tc.ep)
		if tc.allowed != tr.allowHTTP {
			t.Errorf("%s: allowHTTP = %v", tc.ep.host, tr.allowHTTP)
		}
		if !tc.allowed {
			req, _ := http.NewRequest(http.MethodGet, tc.url, nil)
			if _, err := tr.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "plain HTTP") {
				t.Errorf("%s: %v", tc.url, err)
			}
		}
	}
}
