package cluster

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"
)

// TestRotatingServingCertSwapsWhileServing serves TLS on loopback with a
// rotating certificate, renews it as a tick 300 days on would, and checks
// the next handshake gets the new certificate (signed by the same CA,
// with the CA in the chain) without restarting the listener.
func TestRotatingServingCertSwapsWhileServing(t *testing.T) {
	pki, err := LoadOrCreatePKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r, err := pki.NewRotatingServingCert("serving", []string{"127.0.0.1", "localhost"}, true)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: r.GetCertificate, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { _ = c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	handshake := func() []*x509.Certificate {
		t.Helper()
		c, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: pki.CAPool, ServerName: "localhost"})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates
	}

	first := handshake()
	if renewed, err := r.RenewIfDue(time.Now()); err != nil || renewed {
		t.Fatalf("a fresh certificate renewed: %v, %v", renewed, err)
	}
	if renewed, err := r.RenewIfDue(time.Now().Add(300 * 24 * time.Hour)); err != nil || !renewed {
		t.Fatalf("a certificate 65 days from expiry not renewed: %v, %v", renewed, err)
	}
	second := handshake()
	if bytes.Equal(first[0].Raw, second[0].Raw) {
		t.Fatal("the listener still serves the old certificate")
	}
	if first[0].PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(second[0].PublicKey) {
		t.Error("the renewed certificate kept the old key")
	}
	if first[0].SerialNumber.Cmp(second[0].SerialNumber) == 0 {
		t.Error("same serial after renewal")
	}
	if len(second) != 2 || !bytes.Equal(second[1].Raw, pki.CA.Raw) {
		t.Errorf("renewed chain has %d certificates, want the leaf and the CA", len(second))
	}
	// The new pair is on disk too: a restart serves it.
	again, err := pki.ServingCert("serving", []string{"127.0.0.1", "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Leaf.Raw, second[0].Raw) {
		t.Error("the renewed certificate was not written to disk")
	}
}
