package certificates

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	"k8s.io/utils/clock"
)

func csrFor(t *testing.T, subject pkix.Name, dns []string, ips []net.IP) *x509.CertificateRequest {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject, DNSNames: dns, IPAddresses: ips}, key)
	if err != nil {
		t.Fatal(err)
	}
	req, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

var (
	node      = pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:nodes"}}
	clientUse = []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}
	serveUse  = []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageServerAuth}
)

// TestKubeletClientRules: what the approver recognizes as a node client
// certificate, and what the kubelet-client signer accepts.
func TestKubeletClientRules(t *testing.T) {
	tests := []struct {
		name    string
		subject pkix.Name
		dns     []string
		usages  []certificatesv1.KeyUsage
		err     string
	}{
		{"node client", node, nil, clientUse, ""},
		{"with key encipherment", node, nil, append(clientUse, certificatesv1.UsageKeyEncipherment), ""},
		{"other organization", pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:masters"}}, nil, clientUse, "organization"},
		{"two organizations", pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:nodes", "system:masters"}}, nil, clientUse, "organization"},
		{"not a node", pkix.Name{CommonName: "alice", Organization: []string{"system:nodes"}}, nil, clientUse, "common name"},
		{"empty node name", pkix.Name{CommonName: "system:node:", Organization: []string{"system:nodes"}}, nil, clientUse, "common name"},
		{"with a DNS name", node, []string{"n1"}, clientUse, "subjectAltNames"},
		{"server auth", node, nil, append(clientUse, certificatesv1.UsageServerAuth), "usages"},
		{"no client auth", node, nil, []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature}, "usages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateKubeletClient(csrFor(t, tt.subject, tt.dns, nil), tt.usages)
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Errorf("got %v, want %q", err, tt.err)
			}
		})
	}
}

func TestKubeletServingRules(t *testing.T) {
	ip := []net.IP{net.ParseIP("10.99.0.2")}
	if err := validateKubeletServing(csrFor(t, node, []string{"n1"}, ip), serveUse); err != nil {
		t.Errorf("serving: %v", err)
	}
	if err := validateKubeletServing(csrFor(t, node, nil, nil), serveUse); err == nil {
		t.Error("serving certificate without names accepted")
	}
	if err := validateKubeletServing(csrFor(t, node, []string{"n1"}, nil), clientUse); err == nil {
		t.Error("serving certificate for client auth accepted")
	}
}

// TestRecognizers: a node's own renewal is selfnodeclient; a bootstrap
// token's request (another user than the subject) only nodeclient.
func TestRecognizers(t *testing.T) {
	match := func(username string) []string {
		var out []string
		csr := &certificatesv1.CertificateSigningRequest{Spec: certificatesv1.CertificateSigningRequestSpec{Username: username}}
		for _, r := range recognizers {
			if r.matches(csr, "system:node:n1") {
				out = append(out, r.subresource)
			}
		}
		return out
	}
	if got := match("system:node:n1"); strings.Join(got, ",") != "selfnodeclient,nodeclient" {
		t.Errorf("renewal: %v", got)
	}
	if got := match("system:bootstrap:abcdef"); strings.Join(got, ",") != "nodeclient" {
		t.Errorf("bootstrap: %v", got)
	}
}

func testCA(t *testing.T, validFor time.Duration) *CA {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(validFor), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &CA{Cert: cert, Key: key}
}

// TestSign: durations honoured and capped, usages and names carried over.
func TestSign(t *testing.T) {
	ca := testCA(t, 10*365*24*time.Hour)
	shortCA := testCA(t, 2*time.Hour)
	secs := func(n int32) *int32 { return &n }
	tests := []struct {
		name       string
		ca         *CA
		expiration *int32
		want       time.Duration
	}{
		{"default", ca, nil, 365 * 24 * time.Hour},
		// Short-lived (under 8 h): the end is not backdated.
		{"expirationSeconds", ca, secs(3600), time.Hour + 5*time.Minute},
		{"expirationSeconds, long", ca, secs(10 * 3600), 10 * time.Hour},
		{"longer than allowed", ca, secs(1 << 30), 365 * 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Signer{ca: tt.ca, duration: 365 * 24 * time.Hour, clock: clock.RealClock{}}
			der, err := s.Sign(csrFor(t, node, []string{"n1"}, nil), serveUse, tt.expiration)
			if err != nil {
				t.Fatal(err)
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			if got := cert.NotAfter.Sub(cert.NotBefore); got != tt.want {
				t.Errorf("lasts %v, want %v", got, tt.want)
			}
			pool := x509.NewCertPool()
			pool.AddCert(tt.ca.Cert)
			if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, DNSName: "n1"}); err != nil {
				t.Errorf("verify: %v", err)
			}
			if cert.IsCA || cert.Subject.CommonName != "system:node:n1" {
				t.Errorf("subject %v, CA %v", cert.Subject, cert.IsCA)
			}
		})
	}
	s := &Signer{ca: shortCA, duration: 365 * 24 * time.Hour, clock: clock.RealClock{}}
	der, err := s.Sign(csrFor(t, node, nil, nil), clientUse, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cert, _ := x509.ParseCertificate(der); !cert.NotAfter.Equal(shortCA.Cert.NotAfter.Truncate(time.Second)) && cert.NotAfter.After(shortCA.Cert.NotAfter) {
		t.Errorf("certificate outlives its CA: %v > %v", cert.NotAfter, shortCA.Cert.NotAfter)
	}
}

func TestCleanerExpired(t *testing.T) {
	now := time.Now()
	mk := func(age time.Duration, conds ...certificatesv1.RequestConditionType) *certificatesv1.CertificateSigningRequest {
		csr := &certificatesv1.CertificateSigningRequest{}
		csr.CreationTimestamp.Time = now.Add(-age)
		for _, c := range conds {
			cc := certificatesv1.CertificateSigningRequestCondition{Type: c, Status: "True"}
			cc.LastUpdateTime.Time = now.Add(-age)
			csr.Status.Conditions = append(csr.Status.Conditions, cc)
		}
		return csr
	}
	issued := mk(2*time.Hour, certificatesv1.CertificateApproved)
	issued.Status.Certificate = []byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
	for _, tt := range []struct {
		name string
		csr  *certificatesv1.CertificateSigningRequest
		want bool
	}{
		{"pending, new", mk(time.Hour), false},
		{"pending a day", mk(25 * time.Hour), true},
		{"denied two hours ago", mk(2*time.Hour, certificatesv1.CertificateDenied), true},
		{"denied now", mk(time.Minute, certificatesv1.CertificateDenied), false},
		{"approved, not issued", mk(2*time.Hour, certificatesv1.CertificateApproved), false},
		{"approved and issued", issued, true},
	} {
		if got := Expired(tt.csr, now); got != tt.want {
			t.Errorf("%s: %v", tt.name, got)
		}
	}
}
