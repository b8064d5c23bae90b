package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// CSRCertificates is the serving certificate of a node that does not hold
// the cluster CA, as upstream's kubelet gets it with serverTLSBootstrap:
// a CertificateSigningRequest to kubernetes.io/kubelet-serving, which an
// approver (`kubectl certificate approve`, or a controller) approves and
// the CA's signer issues. Until then the node serves a self-signed one.
// The issued certificate is kept in dir for the next start.
type CSRCertificates struct {
	client kubernetes.Interface
	dir    string
	node   string
	ips    []net.IP
	log    *slog.Logger
	cur    atomic.Pointer[tls.Certificate]
	issued atomic.Bool
}

// csrPoll is how often a pending CSR is looked at.
const csrPoll = 2 * time.Second

// NewCSRCertificates loads the certificate issued before, or a
// self-signed one to serve meanwhile; Run requests one when needed.
func NewCSRCertificates(client kubernetes.Interface, dir, nodeName string, ips []net.IP, log *slog.Logger) (*CSRCertificates, error) {
	c := &CSRCertificates{client: client, dir: dir, node: nodeName, ips: ips, log: log}
	if cert, err := tls.LoadX509KeyPair(c.issuedPaths()); err == nil && cert.Leaf != nil &&
		covers(cert.Leaf, nodeName, ips) && time.Until(cert.Leaf.NotAfter) > 30*24*time.Hour {
		c.cur.Store(&cert)
		c.issued.Store(true)
		return c, nil
	}
	self, err := SelfSigned(dir, nodeName, ips)
	if err != nil {
		return nil, err
	}
	c.cur.Store(&self)
	return c, nil
}

func (c *CSRCertificates) issuedPaths() (string, string) {
	return filepath.Join(c.dir, "kubelet-server.crt"), filepath.Join(c.dir, "kubelet-server.key")
}

// GetCertificate is the server's source of certificates.
func (c *CSRCertificates) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.cur.Load(), nil
}

// Run requests a certificate unless one was issued, and swaps it in once
// issued; it returns then, or when ctx ends, or when the request was
// denied or failed.
func (c *CSRCertificates) Run(ctx context.Context) {
	if c.issued.Load() {
		return
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		c.log.Error("kubelet serving certificate: key", "err", err)
		return
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:     pkix.Name{CommonName: "system:node:" + c.node, Organization: []string{"system:nodes"}},
		DNSNames:    []string{c.node},
		IPAddresses: c.ips,
	}, key)
	if err != nil {
		c.log.Error("kubelet serving certificate: request", "err", err)
		return
	}
	csr, err := c.client.CertificatesV1().CertificateSigningRequests().Create(ctx, &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "csr-"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName: certificatesv1.KubeletServingSignerName,
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		c.log.Warn("kubelet serving certificate: CSR not created; serving a self-signed certificate", "err", err)
		return
	}
	c.log.Info("kubelet serving certificate requested; serving a self-signed one until it is approved and issued", "csr", csr.Name)
	t := time.NewTicker(csrPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		got, err := c.client.CertificatesV1().CertificateSigningRequests().Get(ctx, csr.Name, metav1.GetOptions{})
		if err != nil {
			continue
		}
		for _, cond := range got.Status.Conditions {
			if cond.Type == certificatesv1.CertificateDenied || cond.Type == certificatesv1.CertificateFailed {
				c.log.Warn("kubelet serving certificate request refused; serving a self-signed certificate", "csr", csr.Name, "reason", cond.Reason, "message", cond.Message)
				return
			}
		}
		if len(got.Status.Certificate) == 0 {
			continue
		}
		if err := c.install(got.Status.Certificate, key); err != nil {
			c.log.Error("kubelet serving certificate: install", "csr", csr.Name, "err", err)
			return
		}
		c.log.Info("kubelet serving certificate issued", "csr", csr.Name)
		return
	}
}

func (c *CSRCertificates) install(certPEM []byte, key *ecdsa.PrivateKey) error {
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("issued certificate: %w", err)
	}
	certPath, keyPath := c.issuedPaths()
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(certPath, certPEM, 0o644); err != nil {
		return err
	}
	c.cur.Store(&cert)
	c.issued.Store(true)
	return nil
}
