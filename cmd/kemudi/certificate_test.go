package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kemudi/kemudi/internal/cluster"
)

// newCertDataDir makes a data dir as a server start does: the CA, the
// API's serving certificate, the admin client certificate and its
// kubeconfig, the registry's, plus an expired leaf written by hand.
func newCertDataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	pki, err := cluster.LoadOrCreatePKI(filepath.Join(dir, "tls"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pki.ServingCert("serving", []string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := pki.ServingCert("registry-serving", []string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	admin, err := pki.ClientCert("admin", "system:admin", []string{"system:masters"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cluster.WriteKubeconfig(filepath.Join(dir, "admin.kubeconfig"), "https://127.0.0.1:6443", pki.CAPEM(), admin); err != nil {
		t.Fatal(err)
	}
	if _, err := pki.FrontProxy(); err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "old-one"},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour),
	}, pki.CA, key.Public(), pki.CAKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls", "old.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestCertificateCheck(t *testing.T) {
	tests := []struct {
		name    string
		garbage bool // a .crt that is not a certificate
		wantErr bool
	}{
		{name: "a server's data dir"},
		{name: "an unreadable certificate", garbage: true, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := newCertDataDir(t)
			if tt.garbage {
				if err := os.WriteFile(filepath.Join(dir, "tls", "broken.crt"), []byte("nope"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var out bytes.Buffer
			root := newRootCommand()
			root.SetArgs([]string{"certificate", "check", "--data-dir", dir})
			root.SetOut(&out)
			err := root.Execute()
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v\n%s", err, tt.wantErr, out.String())
			}
			rows := map[string][]string{}
			for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n")[1:] {
				f := strings.Fields(line)
				rows[f[0]] = f
			}
			want := map[string][]string{
				// name: subject, residual, CA, auto-renewed
				"tls/ca":                             {"", "3649d", "-", "no"},
				"tls/serving":                        {"kube-apiserver", "364d", "tls/ca", "yes"},
				"tls/registry-serving":               {"kube-apiserver", "364d", "tls/ca", "yes"},
				"tls/admin":                          {"system:admin", "364d", "tls/ca", "yes"},
				"admin.kubeconfig":                   {"system:admin", "364d", "tls/ca", "yes"},
				"tls/old":                            {"old-one", "<invalid>", "tls/ca", "yes"},
				"tls/front-proxy/ca":                 {"", "3649d", "-", "no"},
				"tls/front-proxy/front-proxy-client": {"front-proxy-client", "364d", "tls/front-proxy/ca", "yes"},
			}
			for name, w := range want {
				f, ok := rows[name]
				if !ok {
					t.Errorf("no row for %s in\n%s", name, out.String())
					continue
				}
				if w[0] != "" && f[1] != w[0] {
					t.Errorf("%s: subject %s, want %s", name, f[1], w[0])
				}
				if _, err := time.Parse(time.RFC3339, f[2]); err != nil {
					t.Errorf("%s: expiry %q is not RFC3339", name, f[2])
				}
				if got := f[3:]; strings.Join(got, " ") != strings.Join(w[1:], " ") {
					t.Errorf("%s: residual, CA, renewed = %v, want %v", name, got, w[1:])
				}
			}
			if _, ok := rows["tls/broken"]; ok != tt.garbage {
				t.Errorf("row for the broken file: %v, want %v", ok, tt.garbage)
			}
		})
	}
}

// TestCertificateCheckJoinedNode: on a joined node's data dir (no cluster
// CA key there), the client certificate in the kubeconfig, its copy for
// the registry and the kubelet's serving certificate are listed as
// renewed automatically (the node renews them through CSRs); the CA is
// not.
func TestCertificateCheckJoinedNode(t *testing.T) {
	pki, err := cluster.LoadOrCreatePKI(filepath.Join(t.TempDir(), "tls"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	client, err := pki.ClientCert("node", "system:node:node-2", []string{"system:nodes"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "agent", "kubelet", "pki"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := cluster.WriteKubeconfig(filepath.Join(dir, "agent", "kubelet.kubeconfig"), "https://10.0.0.1:6443", pki.CAPEM(), client); err != nil {
		t.Fatal(err)
	}
	serving, err := pki.KubeletServingCert("node-2", nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, der := range map[string][]byte{
		"registry-client.crt":            client.Certificate[0],
		"registry-ca.crt":                pki.CA.Raw,
		"kubelet/pki/kubelet-server.crt": serving.Certificate[0],
	} {
		if err := os.WriteFile(filepath.Join(dir, "agent", name), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	root := newRootCommand()
	root.SetArgs([]string{"certificate", "check", "--data-dir", dir})
	root.SetOut(&out)
	if err := root.Execute(); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	renewed := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n")[1:] {
		f := strings.Fields(line)
		renewed[f[0]] = f[len(f)-1]
	}
	for name, want := range map[string]string{
		"agent/kubelet.kubeconfig":         "yes",
		"agent/registry-client":            "yes",
		"agent/kubelet/pki/kubelet-server": "yes",
		"agent/registry-ca":                "no",
	} {
		if renewed[name] != want {
			t.Errorf("%s: renewed %q, want %q\n%s", name, renewed[name], want, out.String())
		}
	}
}
