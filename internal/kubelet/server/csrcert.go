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
	"errors"
	"fmt"
	"log/slog"
	mathrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kemudi/kemudi/internal/certrotation"
)

// CSRCertificates is the serving certificate of a node that does not hold
// the cluster CA, as upstream's kubelet gets it with serverTLSBootstrap:
// a CertificateSigningRequest to kubernetes.io/kubelet-serving, which an
// approver (`kubectl certificate approve`, or a controller) approves and
// the CA's signer issues. Until then the node serves a self-signed one.
// The issued certificate is kept in dir for the next start, and renewed
// the same way before it expires (Run).
type CSRCertificates struct {
	client kubernetes.Interface
	dir    string
	node   string
	ips    []net.IP
	log    *slog.Logger
	cur    atomic.Pointer[tls.Certificate]
	issued atomic.Bool
	// obtained is when Run installed the current certificate (zero for
	// one loaded at start); only Run's goroutine uses it.
	obtained time.Time
}

// csrPoll is how often a pending CSR is looked at.
const csrPoll = 2 * time.Second

// NewCSRCertificates loads the certificate issued before, or a
// self-signed one to serve meanwhile; Run requests one when needed.
func NewCSRCertificates(client kubernetes.Interface, dir, nodeName string, ips []net.IP, log *slog.Logger) (*CSRCertificates, error) {
	c := &CSRCertificates{client: client, dir: dir, node: nodeName, ips: ips, log: log}
	if cert, err := tls.LoadX509KeyPair(c.issuedPaths()); err == nil && cert.Leaf != nil &&
		covers(cert.Leaf, nodeName, ips) && time.Until(cert.Leaf.NotAfter) > time.Minute {
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

// Run keeps a CA-issued certificate in place until ctx ends: it requests
// one unless one was issued before, swaps it in once issued, and renews
// it at certrotation's deadline. A request that fails is retried with
// backoff; one that is denied is not (a person said no; a restart asks
// again), and the certificate in use stays.
func (c *CSRCertificates) Run(ctx context.Context) {
	retry := time.Duration(0)
	for {
		wait := retry
		if c.issued.Load() && retry == 0 {
			leaf := c.cur.Load().Leaf
			wait = time.Until(certrotation.Deadline(leaf.NotBefore, leaf.NotAfter, c.obtained, mathrand.Float64()))
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		err := c.request(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, errDenied):
			c.log.Warn("kubelet serving certificate request refused; keeping the certificate in use", "err", err)
			return
		case err != nil:
			left := time.Duration(0)
			if c.issued.Load() {
				left = time.Until(c.cur.Load().Leaf.NotAfter)
			}
			retry = certrotation.NextRetry(retry, left)
			c.log.Warn("kubelet serving certificate not obtained; retrying", "in", retry, "err", err)
		default:
			retry = 0
		}
	}
}

// errDenied is a CSR that was denied or failed.
var errDenied = errors.New("certificate signing request refused")

// request asks for a certificate with a new key and installs it once
// issued; it waits for approval as long as ctx lasts.
func (c *CSRCertificates) request(ctx context.Context) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("key: %w", err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:     pkix.Name{CommonName: "system:node:" + c.node, Organization: []string{"system:nodes"}},
		DNSNames:    []string{c.node},
		IPAddresses: c.ips,
	}, key)
	if err != nil {
		return fmt.Errorf("request: %w", err)
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
		return fmt.Errorf("create CSR: %w", err)
	}
	if c.issued.Load() {
		c.log.Info("kubelet serving certificate renewal requested", "csr", csr.Name)
	} else {
		c.log.Info("kubelet serving certificate requested; serving a self-signed one until it is approved and issued", "csr", csr.Name)
	}
	t := time.NewTicker(csrPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		got, err := c.client.CertificatesV1().CertificateSigningRequests().Get(ctx, csr.Name, metav1.GetOptions{})
		if err != nil {
			continue
		}
		for _, cond := range got.Status.Conditions {
			if cond.Type == certificatesv1.CertificateDenied || cond.Type == certificatesv1.CertificateFailed {
				return fmt.Errorf("%w: %s %s: %s", errDenied, csr.Name, cond.Reason, cond.Message)
			}
		}
		if len(got.Status.Certificate) == 0 {
			continue
		}
		if err := c.install(got.Status.Certificate, key); err != nil {
			return fmt.Errorf("install %s: %w", csr.Name, err)
		}
		c.log.Info("kubelet serving certificate issued", "csr", csr.Name, "expires", c.cur.Load().Leaf.NotAfter)
		return nil
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
	// Each file replaced at once, key first: a stop between the two
	// leaves a pair that does not match, which the next start refuses
	// (and asks again) rather than one half written.
	for _, f := range []struct {
		path string
		data []byte
		mode os.FileMode
	}{{keyPath, keyPEM, 0o600}, {certPath, certPEM, 0o644}} {
		if err := os.WriteFile(f.path+".tmp", f.data, f.mode); err != nil {
			return err
		}
		if err := os.Rename(f.path+".tmp", f.path); err != nil {
			return err
		}
	}
	c.obtained = time.Now()
	c.cur.Store(&cert)
	c.issued.Store(true)
	return nil
}
