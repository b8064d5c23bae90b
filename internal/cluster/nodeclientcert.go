package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"time"

	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/connrotation"

	"github.com/kemudi/kemudi/internal/certrotation"
)

// NodeClientCert is a joined node's client certificate, renewed while the
// node runs, as upstream's kubelet rotates its own: once 70–84% of its
// lifetime has passed it asks for a new one with a CSR signed by the
// current one (which csrapproving approves as selfnodeclient), writes it
// to the node's kubeconfig and the registry credentials, and presents it
// from then on. Connections made with the old one are closed, because
// the API server checks a certificate's validity on every request, not
// only at the handshake.
type NodeClientCert struct {
	server     string
	caPEM      []byte
	roots      *x509.CertPool
	node       string
	kubeconfig string
	// files are extra copies of the pair (the runtime's registry
	// credentials), rewritten on renewal.
	certFile, keyFile string
	log               *slog.Logger
	cur               atomic.Pointer[tls.Certificate]
	// obtained is when the current certificate was issued to us (zero
	// for the one we started with).
	obtained  time.Time
	dialer    *connrotation.Dialer
	transport *http.Transport
	// timeout bounds the wait for one renewal's CSR.
	timeout time.Duration
}

// NewNodeClientCert takes over cfg's client certificate (as Join returns
// it). kubeconfig is the file Join keeps it in; certFile and keyFile,
// when not "", are further copies to keep current.
func NewNodeClientCert(cfg *rest.Config, kubeconfig, nodeName, certFile, keyFile string, log *slog.Logger) (*NodeClientCert, error) {
	cert, err := tls.X509KeyPair(cfg.CertData, cfg.KeyData)
	if err != nil {
		return nil, fmt.Errorf("node client certificate: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(cfg.CAData) {
		return nil, errors.New("node client certificate: the API client config has no CA")
	}
	if log == nil {
		log = slog.Default()
	}
	n := &NodeClientCert{
		server: cfg.Host, caPEM: cfg.CAData, roots: roots, node: nodeName, kubeconfig: kubeconfig,
		certFile: certFile, keyFile: keyFile, log: log, timeout: 5 * time.Minute,
		dialer: connrotation.NewDialer((&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext),
	}
	n.cur.Store(&cert)
	n.transport = utilnet.SetTransportDefaults(&http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         n.dialer.DialContext,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 25,
		TLSClientConfig: &tls.Config{
			RootCAs:    roots,
			MinVersion: tls.VersionTLS12,
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				return n.cur.Load(), nil
			},
		},
	})
	return n, nil
}

// JoinedNodeClientCert is NewNodeClientCert for a node that joined with
// Join: it keeps the node's kubeconfig and the registry credentials
// JoinedNodeRegistries wrote current.
func JoinedNodeClientCert(cfg *rest.Config, dataDir, nodeName string, log *slog.Logger) (*NodeClientCert, error) {
	dir := filepath.Join(dataDir, "agent")
	return NewNodeClientCert(cfg, KubeletKubeconfig(dataDir), nodeName,
		filepath.Join(dir, registryClientCert), filepath.Join(dir, registryClientKey), log)
}

// Config is an API client configuration presenting the current
// certificate. (client-go refuses TLS settings beside a Transport, so the
// CA is in the transport and CA() gives it to who needs it.)
func (n *NodeClientCert) Config() *rest.Config {
	return &rest.Config{Host: n.server, Transport: n.transport}
}

// CA is the cluster CA the node trusts, PEM.
func (n *NodeClientCert) CA() []byte { return n.caPEM }

// Current is the certificate presented now.
func (n *NodeClientCert) Current() *tls.Certificate { return n.cur.Load() }

// Run renews the certificate at each renewal deadline until ctx ends. A
// renewal that fails is retried with backoff while the certificate is
// still good; once it has expired the node keeps trying, as upstream's.
func (n *NodeClientCert) Run(ctx context.Context) {
	retry := time.Duration(0)
	for {
		leaf := n.cur.Load().Leaf
		wait := time.Until(certrotation.Deadline(leaf.NotBefore, leaf.NotAfter, n.obtained, rand.Float64()))
		if retry > 0 {
			wait = retry
		}
		t := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if err := n.renew(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			retry = certrotation.NextRetry(retry, time.Until(leaf.NotAfter))
			n.log.Error("node client certificate not renewed; retrying", "in", retry, "expires", leaf.NotAfter, "err", err)
			continue
		}
		retry = 0
	}
}

// renew asks for, installs and writes a new certificate.
func (n *NodeClientCert) renew(ctx context.Context) error {
	client, err := kubernetes.NewForConfig(n.Config())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	certPEM, keyPEM, name, err := requestNodeClientCert(ctx, client, n.node)
	if err != nil {
		return err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("the certificate issued for %s: %w", name, err)
	}
	if err := WriteKubeconfig(n.kubeconfig, n.server, n.caPEM, cert); err != nil {
		return err
	}
	if n.certFile != "" {
		// Key first: a reader that sees the new certificate finds its key.
		if err := writeFileAtomic(n.keyFile, keyPEM, 0o600); err != nil {
			return fmt.Errorf("node client key: %w", err)
		}
		if err := writeFileAtomic(n.certFile, certPEM, 0o644); err != nil {
			return fmt.Errorf("node client certificate: %w", err)
		}
	}
	n.obtained = time.Now()
	n.cur.Store(&cert)
	// New handshakes present the new certificate; requests in flight on
	// old connections are cut and retried by their clients (watches
	// resume from their resource version).
	n.dialer.CloseAll()
	n.log.Info("node client certificate renewed", "csr", name, "expires", cert.Leaf.NotAfter)
	return nil
}
