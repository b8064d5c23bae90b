package cluster

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"net"
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

// TestRotatingCertRenewsAtHandshake: a certificate that has come due is
// renewed by the next handshake that asks for it, for each kind the
// server keeps (a serving one, the node's kubelet serving one, a client
// one), and the peer sees the new one; a certificate not due is kept.
func TestRotatingCertRenewsAtHandshake(t *testing.T) {
	pki, err := LoadOrCreatePKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	serving := func() (*RotatingCert, error) {
		return pki.NewRotatingServingCert("registry-serving", []string{"127.0.0.1"}, false)
	}
	kubelet := func() (*RotatingCert, error) {
		return pki.NewRotatingKubeletServingCert("node-1", []net.IP{net.ParseIP("127.0.0.1")})
	}
	client := func() (*RotatingCert, error) {
		return pki.NewRotatingClientCert("kubelet-client", KubeletClientUser, []string{"system:masters"})
	}
	for _, tc := range []struct {
		name   string
		new    func() (*RotatingCert, error)
		client bool
		due    bool
	}{
		{"serving, due", serving, false, true},
		{"serving, not due", serving, false, false},
		{"kubelet serving, due", kubelet, false, true},
		{"client, due", client, true, true},
		{"client, not due", client, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := tc.new()
			if err != nil {
				t.Fatal(err)
			}
			if tc.due {
				// Ten minutes left of an hour: within the last third.
				old := r.Current()
				tmpl := *old.Leaf
				tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-50*time.Minute), time.Now().Add(10*time.Minute)
				soon, err := pki.signWith(t.TempDir()+"/c.crt", t.TempDir()+"/c.key", &tmpl)
				if err != nil {
					t.Fatal(err)
				}
				r.store(soon)
			}
			before := r.Current().Leaf
			got := handshakeWith(t, pki, r, tc.client)
			if renewed := got.SerialNumber.Cmp(before.SerialNumber) != 0; renewed != tc.due {
				t.Errorf("renewed at the handshake: %v, want %v", renewed, tc.due)
			}
			if time.Until(got.NotAfter) < 300*24*time.Hour {
				t.Errorf("the peer saw a certificate ending %s", got.NotAfter)
			}
		})
	}
}

// handshakeWith makes a TLS handshake on loopback where r is the
// server's certificate (or, with client, the client's) and returns the
// one the peer saw.
func handshakeWith(t *testing.T, pki *PKI, r *RotatingCert, client bool) *x509.Certificate {
	t.Helper()
	srv := &tls.Config{MinVersion: tls.VersionTLS12, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pki.CAPool}
	cli := &tls.Config{RootCAs: pki.CAPool, ServerName: "127.0.0.1"}
	if client {
		other, err := pki.ServingCert("other-serving", []string{"127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		srv.Certificates = []tls.Certificate{other}
		cli.GetClientCertificate = r.GetClientCertificate
		return clientCertSeen(t, srv, cli)
	}
	srv.GetCertificate = r.GetCertificate
	srv.ClientAuth = tls.NoClientCert
	l, err := tls.Listen("tcp", "127.0.0.1:0", srv)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		if c, err := l.Accept(); err == nil {
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	c, err := tls.Dial("tcp", l.Addr().String(), cli)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0]
}
