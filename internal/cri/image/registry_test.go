package image

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kemudi/kemudi/internal/addons/registry"
	"github.com/kemudi/kemudi/internal/testimages"
)

// tlsRegistry is kemudi's embedded registry (Docker's token flow, users
// file) over TLS on 127.0.0.1 with a certificate from a CA of the test's,
// and a registries.yaml that makes a store trust that CA.
type tlsRegistry struct {
	host           string
	caFile         string
	registryConfig string // registries.yaml with the CA for host
	log            *requestLog
}

func startTLSRegistry(t testing.TB, user, password string) *tlsRegistry {
	t.Helper()
	dir := t.TempDir()
	layout := registry.NewLayout(dir)
	caFile := filepath.Join(dir, "ca.pem")
	caCert, caKey := newCA(t, caFile)
	cert := serveCert(t, caCert, caKey)
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	reg, err := registry.New(ctx, registry.Options{Layout: layout, Certificate: cert, ClientCAs: pool, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := registry.AddUser(layout.Users, user, password); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log := &requestLog{}
	srv := &http.Server{Handler: log.middleware(reg.Handler()), TLSConfig: reg.TLSConfig()}
	go srv.ServeTLS(l, "", "")
	t.Cleanup(func() { srv.Close() })
	host := l.Addr().String()
	rc := filepath.Join(dir, "registries.yaml")
	yaml := fmt.Sprintf("configs:\n  %q:\n    tls:\n      ca_file: %s\n", host, caFile)
	if err := os.WriteFile(rc, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return &tlsRegistry{host: host, caFile: caFile, registryConfig: rc, log: log}
}

func newCA(t testing.TB, file string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "image-test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert, key
}

func serveCert(t testing.TB, ca *x509.Certificate, caKey *ecdsa.PrivateKey) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "registry"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestLogin(t *testing.T) {
	tr := startTLSRegistry(t, "alifah", "s3cret")
	basic := newRegistry(t, testimages.BasicAuth("alifah", "s3cret"))
	trusting := newStore(t, Options{RegistryConfig: tr.registryConfig})
	untrusting := newStore(t, Options{})
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		s       *Store
		host    string
		auth    *Auth
		wantErr string // "" = logged in
	}{
		{"token flow over TLS", trusting, tr.host, &Auth{Username: "alifah", Password: "s3cret"}, ""},
		{"token flow, wrong password", trusting, tr.host, &Auth{Username: "alifah", Password: "nope"}, "unauthorized"},
		{"token flow, unknown user", trusting, tr.host, &Auth{Username: "mallory", Password: "s3cret"}, "unauthorized"},
		{"no credentials", trusting, tr.host, nil, "unauthorized"},
		{"CA not trusted", untrusting, tr.host, &Auth{Username: "alifah", Password: "s3cret"}, "certificate"},
		{"basic over plain HTTP", untrusting, basic.Host, &Auth{Username: "alifah", Password: "s3cret"}, ""},
		{"basic, wrong password", untrusting, basic.Host, &Auth{Username: "alifah", Password: "nope"}, "unauthorized"},
		{"nothing listening", untrusting, "127.0.0.1:1", &Auth{Username: "a", Password: "b"}, "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Login(ctx, tc.host, tc.auth)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("login: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("login: %v, want an error with %q", err, tc.wantErr)
			case tc.wantErr == "unauthorized" && !errors.Is(err, ErrUnauthorized):
				t.Fatalf("login: %v is not ErrUnauthorized", err)
			}
		})
	}
}

func TestPushToTheEmbeddedRegistry(t *testing.T) {
	requireRoot(t)
	tr := startTLSRegistry(t, "alifah", "s3cret")
	s := newStore(t, Options{RegistryConfig: tr.registryConfig})
	ctx := context.Background()
	ref := tr.host + "/alifah/flask:1"
	img := importImage(t, s, ref, threeLayers(t))
	auth := &Auth{Username: "alifah", Password: "s3cret"}

	if _, err := s.Push(ctx, ref, &Auth{Username: "alifah", Password: "nope"}, nil); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("push with a wrong password: %v, want unauthorized", err)
	}
	digest, err := s.Push(ctx, ref, auth, nil)
	if err != nil {
		t.Fatalf("push: %v", err)
	}

	// Another repository: distribution keeps blobs per repository, so
	// they are mounted from the first, not sent again.
	tr.log.mu.Lock()
	tr.log.count = nil
	tr.log.mu.Unlock()
	if _, err := s.Tag(img.ID, tr.host+"/alifah/copy:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Push(ctx, tr.host+"/alifah/copy:1", auth, nil); err != nil {
		t.Fatalf("push to a second repository: %v", err)
	}
	tr.log.mu.Lock()
	for k := range tr.log.count {
		if strings.HasPrefix(k, "PATCH ") {
			t.Errorf("second repository: blob data sent (%s), want mounts", k)
		}
	}
	tr.log.mu.Unlock()

	fresh := newStore(t, Options{RegistryConfig: tr.registryConfig})
	pulled, err := fresh.Pull(ctx, tr.host+"/alifah/copy:1", auth)
	if err != nil {
		t.Fatalf("pull back: %v", err)
	}
	if pulled.ID != img.ID {
		t.Errorf("pulled %s, pushed %s", pulled.ID, img.ID)
	}

	// A real client sees what was pushed, verifying TLS with the CA.
	skopeo := testimages.Tool(t, "skopeo", "skopeo")
	certDir := t.TempDir()
	if err := os.Link(tr.caFile, filepath.Join(certDir, "ca.crt")); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, skopeo, "inspect", "--cert-dir", certDir, "--creds", "alifah:s3cret",
		"docker://"+ref).CombinedOutput()
	if err != nil {
		t.Fatalf("skopeo inspect: %v\n%s", err, out)
	}
	var info struct {
		Digest string
		Env    []string
		Layers []string
	}
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatalf("skopeo inspect output: %v\n%s", err, out)
	}
	if info.Digest != digest || len(info.Layers) != 3 || len(info.Env) != 1 || info.Env[0] != "A=1" {
		t.Errorf("skopeo sees %+v, pushed %s with 3 layers and A=1", info, digest)
	}
}
