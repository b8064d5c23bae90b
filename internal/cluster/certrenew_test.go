package cluster

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestNeedsRenewal(t *testing.T) {
	now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	cert := func(notBefore, notAfter time.Time) *x509.Certificate {
		return &x509.Certificate{
			NotBefore: notBefore, NotAfter: notAfter,
			DNSNames: []string{"localhost", "box"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		}
	}
	tests := []struct {
		name  string
		cert  *x509.Certificate
		sans  []string
		renew bool
	}{
		{"a year's certificate, fresh", cert(now.Add(-day), now.Add(364*day)), []string{"localhost", "127.0.0.1"}, false},
		{"a year's certificate, 91 days left", cert(now.Add(-274*day), now.Add(91*day)), nil, false},
		{"a year's certificate, 89 days left", cert(now.Add(-276*day), now.Add(89*day)), nil, true},
		{"expired", cert(now.Add(-366*day), now.Add(-day)), nil, true},
		{"not yet valid", cert(now.Add(day), now.Add(365*day)), nil, true},
		{"a day's certificate, 9 hours left", cert(now.Add(-15*time.Hour), now.Add(9*time.Hour)), nil, false},
		{"a day's certificate, 7 hours left", cert(now.Add(-17*time.Hour), now.Add(7*time.Hour)), nil, true},
		{"a new address", cert(now.Add(-day), now.Add(364*day)), []string{"localhost", "10.0.0.7"}, true},
		{"a new name", cert(now.Add(-day), now.Add(364*day)), []string{"other"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			renew, why := needsRenewal(tt.cert, now, tt.sans)
			if renew != tt.renew {
				t.Fatalf("needsRenewal = %v (%q), want %v", renew, why, tt.renew)
			}
			if renew && why == "" {
				t.Error("renewal without a reason")
			}
		})
	}
}

// TestPKIRenewsOnStart writes certificates that expire soon, or do not
// cover the server's addresses, loads the PKI as a start does, and checks
// each is reissued with the same subject and a new key, while a good one
// and the CA are kept.
func TestPKIRenewsOnStart(t *testing.T) {
	dir := t.TempDir()
	pki, err := LoadOrCreatePKI(dir)
	if err != nil {
		t.Fatal(err)
	}
	hosts := []string{"127.0.0.1", "localhost"}
	// soon writes name's pair valid for 10 more days of a year.
	soon := func(name string, tmpl *x509.Certificate) {
		t.Helper()
		tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-355*24*time.Hour), time.Now().Add(10*24*time.Hour)
		if _, err := pki.signWith(filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key"), tmpl); err != nil {
			t.Fatal(err)
		}
	}
	soon("serving", &x509.Certificate{Subject: pkix.Name{CommonName: "kube-apiserver"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"}})
	soon("admin", &x509.Certificate{Subject: pkix.Name{CommonName: "system:admin", Organization: []string{"system:masters"}}})
	if _, err := pki.ServingCert("registry-serving", []string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	files := func() map[string][]byte {
		m := map[string][]byte{}
		for _, n := range []string{"ca.crt", "ca.key", "serving.crt", "serving.key", "admin.crt", "admin.key", "registry-serving.crt", "registry-serving.key"} {
			b, err := os.ReadFile(filepath.Join(dir, n))
			if err != nil {
				t.Fatal(err)
			}
			m[n] = b
		}
		return m
	}
	before := files()

	pki, err = LoadOrCreatePKI(dir)
	if err != nil {
		t.Fatal(err)
	}
	serving, err := pki.ServingCert("serving", hosts)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := pki.ClientCert("admin", "system:admin", []string{"system:masters"})
	if err != nil {
		t.Fatal(err)
	}
	// The registry's now must also cover a new address.
	registryCert, err := pki.ServingCert("registry-serving", []string{"127.0.0.1", "10.9.8.7"})
	if err != nil {
		t.Fatal(err)
	}
	after := files()

	for _, n := range []string{"ca.crt", "ca.key"} {
		if !bytes.Equal(before[n], after[n]) {
			t.Errorf("%s changed: the CA must not be rotated", n)
		}
	}
	for _, n := range []string{"serving", "admin", "registry-serving"} {
		if bytes.Equal(before[n+".key"], after[n+".key"]) || bytes.Equal(before[n+".crt"], after[n+".crt"]) {
			t.Errorf("%s was not reissued with a new key", n)
		}
	}
	for _, c := range []struct {
		leaf    *x509.Certificate
		cn, org string
	}{{serving.Leaf, "kube-apiserver", ""}, {admin.Leaf, "system:admin", "system:masters"}, {registryCert.Leaf, "kube-apiserver", ""}} {
		if c.leaf.Subject.CommonName != c.cn || (c.org != "" && (len(c.leaf.Subject.Organization) != 1 || c.leaf.Subject.Organization[0] != c.org)) {
			t.Errorf("reissued subject %v, want CN=%s O=%s", c.leaf.Subject, c.cn, c.org)
		}
		if time.Until(c.leaf.NotAfter) < 300*24*time.Hour {
			t.Errorf("%s: reissued certificate expires %s", c.cn, c.leaf.NotAfter)
		}
		if _, err := c.leaf.Verify(x509.VerifyOptions{Roots: pki.CAPool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			t.Errorf("%s: not signed by the kept CA: %v", c.cn, err)
		}
	}
	if err := registryCert.Leaf.VerifyHostname("10.9.8.7"); err != nil {
		t.Errorf("registry certificate: %v", err)
	}

	// A third start with nothing due keeps every file.
	pki, _ = LoadOrCreatePKI(dir)
	if _, err := pki.ServingCert("serving", hosts); err != nil {
		t.Fatal(err)
	}
	if again := files(); !bytes.Equal(again["serving.key"], after["serving.key"]) {
		t.Error("a certificate that is not due was reissued")
	}
}
