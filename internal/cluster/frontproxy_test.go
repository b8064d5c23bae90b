package cluster

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"path/filepath"
	"testing"
	"time"

	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"

	"github.com/kemudi/kemudi/internal/registry/apiregistration/apiservice"
)

// TestFrontProxyCertRenewsAtHandshake: the front proxy's client
// certificate, once due, is renewed by the aggregator's next handshake
// with an aggregated server, through the same TLS configuration (the
// aggregator keeps one per APIService), and the server sees the new one,
// signed by the front proxy's CA; a restart loads the renewed one.
func TestFrontProxyCertRenewsAtHandshake(t *testing.T) {
	pki, err := LoadOrCreatePKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fp, err := pki.FrontProxy()
	if err != nil {
		t.Fatal(err)
	}
	svc := &apiregistrationv1.APIService{Spec: apiregistrationv1.APIServiceSpec{
		Service:  &apiregistrationv1.ServiceReference{Namespace: "wardle", Name: "api"},
		CABundle: pki.CAPEM(),
	}}
	client, err := apiservice.ClientTLS(svc, fp.Cert.GetClientCertificate)
	if err != nil {
		t.Fatal(err)
	}
	serving, err := pki.ServingCert("aggregated", []string{apiservice.ServerName(svc)})
	if err != nil {
		t.Fatal(err)
	}
	frontProxyCAs := x509.NewCertPool()
	frontProxyCAs.AppendCertsFromPEM(fp.CAPEM)
	aggregated := &tls.Config{Certificates: []tls.Certificate{serving}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: frontProxyCAs, MinVersion: tls.VersionTLS12}

	first := clientCertSeen(t, aggregated, client)
	// Ten minutes left of an hour: within the last third.
	fpPKI, err := LoadOrCreatePKI(filepath.Join(pki.Dir, "front-proxy"))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := *fp.Cert.Current().Leaf
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-50*time.Minute), time.Now().Add(10*time.Minute)
	soon, err := fpPKI.signWith(filepath.Join(t.TempDir(), "c.crt"), filepath.Join(t.TempDir(), "c.key"), &tmpl)
	if err != nil {
		t.Fatal(err)
	}
	fp.Cert.store(soon)

	second := clientCertSeen(t, aggregated, client)
	if second.SerialNumber.Cmp(soon.Leaf.SerialNumber) == 0 || second.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Fatal("the aggregated server saw the due certificate, not a renewed one")
	}
	if time.Until(second.NotAfter) < 300*24*time.Hour || second.Subject.CommonName != frontProxyClient {
		t.Errorf("renewed certificate: %s until %s", second.Subject.CommonName, second.NotAfter)
	}
	again, err := pki.FrontProxy()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Cert.Current().Leaf.Raw, second.Raw) {
		t.Error("the renewed certificate was not written to disk")
	}
}

// clientCertSeen makes one handshake from client to a server with srv on
// loopback and returns the client certificate the server verified (for
// the front proxy's and every rotating client certificate's tests).
func clientCertSeen(t *testing.T, srv, client *tls.Config) *x509.Certificate {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", srv)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	seen := make(chan *x509.Certificate, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			seen <- nil
			return
		}
		defer c.Close()
		tc := c.(*tls.Conn)
		if tc.Handshake() != nil || len(tc.ConnectionState().PeerCertificates) == 0 {
			seen <- nil
			return
		}
		seen <- tc.ConnectionState().PeerCertificates[0]
	}()
	c, err := tls.Dial("tcp", l.Addr().String(), client)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := <-seen
	if got == nil {
		t.Fatal("the server verified no client certificate")
	}
	return got
}
