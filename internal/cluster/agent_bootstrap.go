package cluster

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/keyutil"
)

// JoinOptions say how a node joins a cluster by token (upstream's kubelet
// TLS bootstrapping).
type JoinOptions struct {
	// Server is the API's URL, e.g. https://10.99.0.1:6443.
	Server string
	// TokenFile holds the server's join token (its <data-dir>/node-token).
	TokenFile string
	// NodeName is the node's name; its client certificate is for
	// system:node:<NodeName>.
	NodeName string
	// DataDir is the node's data dir: the kubeconfig with its certificate
	// is <data-dir>/agent/kubelet.kubeconfig.
	DataDir string
	// Timeout bounds the wait for the certificate (default 5 minutes).
	Timeout time.Duration
	Log     *slog.Logger
}

// KubeletKubeconfig is where a joined node keeps its credentials.
func KubeletKubeconfig(dataDir string) string {
	return filepath.Join(dataDir, "agent", "kubelet.kubeconfig")
}

// minCertLeft is how long a stored certificate must still be valid to be
// used without joining again: long enough to renew it with itself
// (NodeClientCert renews one past its deadline at once).
const minCertLeft = time.Minute

// Join returns the node's client config: from the kubeconfig an earlier
// join wrote when its certificate is still good for the same server and
// node, else by joining with the token: it checks that the server holds
// the CA the token pins, asks for a client certificate for
// system:node:<name> with a CertificateSigningRequest, waits until the
// controller manager approves and signs it, and writes the kubeconfig.
func Join(ctx context.Context, o JoinOptions) (*rest.Config, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Minute
	}
	path := KubeletKubeconfig(o.DataDir)
	if cfg, ok := reuseKubeconfig(path, o); ok {
		o.Log.Info("using the node's certificate from an earlier join", "kubeconfig", path)
		return cfg, nil
	}
	data, err := os.ReadFile(o.TokenFile)
	if err != nil {
		return nil, fmt.Errorf("join: read the token file: %w", err)
	}
	jt, err := ParseJoinToken(string(data))
	if err != nil {
		return nil, fmt.Errorf("join: %s: %w", o.TokenFile, err)
	}
	caPEM, err := fetchPinnedCA(ctx, o.Server, jt.CAHash)
	if err != nil {
		return nil, fmt.Errorf("join %s: %w", o.Server, err)
	}
	boot := &rest.Config{Host: o.Server, BearerToken: jt.Token.String(), TLSClientConfig: rest.TLSClientConfig{CAData: caPEM}, Timeout: 30 * time.Second}
	certPEM, keyPEM, err := requestClientCertificate(ctx, boot, o)
	if err != nil {
		return nil, fmt.Errorf("join %s: %w", o.Server, err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("join: the issued certificate: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if err := WriteKubeconfig(path, o.Server, caPEM, cert); err != nil {
		return nil, err
	}
	o.Log.Info("joined: node credentials written", "node", o.NodeName, "kubeconfig", path)
	return &rest.Config{Host: o.Server, TLSClientConfig: rest.TLSClientConfig{CAData: caPEM, CertData: certPEM, KeyData: keyPEM}}, nil
}

// reuseKubeconfig loads the kubeconfig of an earlier join when it is for
// the same server and node and its certificate is still good.
func reuseKubeconfig(path string, o JoinOptions) (*rest.Config, bool) {
	if _, err := os.Stat(path); err != nil {
		return nil, false
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil || strings.TrimSuffix(cfg.Host, "/") != strings.TrimSuffix(o.Server, "/") {
		return nil, false
	}
	block, _ := pem.Decode(cfg.CertData)
	if block == nil {
		return nil, false
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil || cert.Subject.CommonName != "system:node:"+o.NodeName || time.Until(cert.NotAfter) < minCertLeft {
		return nil, false
	}
	return cfg, true
}

// fetchPinnedCA connects to the server without trusting anything yet,
// finds in the certificates it presents the CA whose public key hash the
// token pins, and checks that the server's certificate is signed by it.
// Nothing is sent before that check (the token least of all).
func fetchPinnedCA(ctx context.Context, server, hash string) ([]byte, error) {
	var ca *x509.Certificate
	tlsConfig := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // verified below against the pinned hash
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the server presented no certificate")
			}
			for _, c := range cs.PeerCertificates {
				if CAHash(c) == hash {
					ca = c
				}
			}
			if ca == nil {
				return fmt.Errorf("the server's CA does not match the CA hash in the join token (token pins sha256:%s; the server presented %s): wrong server, or a token from another cluster", hash, presented(cs.PeerCertificates))
			}
			pool := x509.NewCertPool()
			pool.AddCert(ca)
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			if _, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter}); err != nil {
				return fmt.Errorf("the server's certificate is not signed by the pinned CA: %w", err)
			}
			return nil
		},
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfig}, Timeout: 15 * time.Second}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(server, "/")+"/version", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}), nil
}

func presented(certs []*x509.Certificate) string {
	var out []string
	for _, c := range certs {
		out = append(out, fmt.Sprintf("%q sha256:%s", c.Subject.CommonName, CAHash(c)))
	}
	return strings.Join(out, ", ")
}

// requestClientCertificate creates a CSR for system:node:<name> as the
// bootstrap token and waits for its certificate.
func requestClientCertificate(ctx context.Context, boot *rest.Config, o JoinOptions) (certPEM, keyPEM []byte, err error) {
	client, err := kubernetes.NewForConfig(boot)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	certPEM, keyPEM, name, err := requestNodeClientCert(ctx, client, o.NodeName)
	switch {
	case apierrors.IsUnauthorized(err) && name == "":
		return nil, nil, fmt.Errorf("the server refused the join token in %s (401 Unauthorized): the token is wrong, expired or deleted", o.TokenFile)
	case err != nil:
		return nil, nil, err
	}
	o.Log.Info("the node's client certificate was issued", "csr", name, "node", o.NodeName)
	return certPEM, keyPEM, nil
}

// requestNodeClientCert asks for a client certificate for
// system:node:<node> with a new key (a CSR to the
// kube-apiserver-client-kubelet signer) and waits until ctx ends for it
// to be issued. name is the CSR's, "" when it was not created.
func requestNodeClientCert(ctx context.Context, client kubernetes.Interface, node string) (certPEM, keyPEM []byte, name string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, "", err
	}
	keyPEM, err = keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		return nil, nil, "", err
	}
	subject := pkix.Name{CommonName: "system:node:" + node, Organization: []string{"system:nodes"}}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject}, key)
	if err != nil {
		return nil, nil, "", err
	}
	csrs := client.CertificatesV1().CertificateSigningRequests()
	// Named as upstream's kubelet names it: node-csr-<digest of the request>.
	sum := sha256.Sum256(der)
	csr := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "node-csr-" + base64.RawURLEncoding.EncodeToString(sum[:])[:32]},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName: certificatesv1.KubeAPIServerClientKubeletSignerName,
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
		},
	}
	if _, err := csrs.Create(ctx, csr, metav1.CreateOptions{}); err != nil {
		return nil, nil, "", fmt.Errorf("create certificate signing request: %w", err)
	}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		got, err := csrs.Get(ctx, csr.Name, metav1.GetOptions{})
		if err == nil {
			for _, c := range got.Status.Conditions {
				if c.Type == certificatesv1.CertificateDenied || c.Type == certificatesv1.CertificateFailed {
					return nil, nil, csr.Name, fmt.Errorf("certificate signing request %s %s: %s: %s", csr.Name, strings.ToLower(string(c.Type)), c.Reason, c.Message)
				}
			}
			if len(got.Status.Certificate) > 0 {
				return got.Status.Certificate, keyPEM, csr.Name, nil
			}
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = errors.New("still pending: is the controller manager running with csrapproving and csrsigning? `kubectl certificate approve " + csr.Name + "` approves it by hand")
			}
			return nil, nil, csr.Name, fmt.Errorf("no certificate for %s: %w", csr.Name, err)
		case <-tick.C:
		}
	}
}
