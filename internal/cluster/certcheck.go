package cluster

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

// CertificateStatus is one certificate under a data dir, as
// `kemudi certificate check` lists it.
type CertificateStatus struct {
	// Name is the file's path relative to the data dir, without .crt
	// (tls/serving); a kubeconfig's client certificate keeps its file name
	// (admin.kubeconfig).
	Name string
	// Cert is the parsed certificate (nil when Err is set).
	Cert *x509.Certificate
	// CA is the Name of the certificate that signed it among those found,
	// "-" for a self-signed CA, or the issuer's CN when it is not found.
	CA string
	// AutoRenew says whether kemudi reissues it by itself (needsRenewal at
	// each start): the leaves the cluster CA in <data-dir>/tls signed and
	// the component kubeconfigs written from them. The CA is not rotated.
	AutoRenew bool
	// Err is why the file could not be read.
	Err error
}

// skipDir says whether a directory holds no certificates but many files
// (etcd's data, image layers, container roots): the check does not walk it.
func skipDir(name string) bool {
	switch name {
	case "etcd", "storage", "rootfs", "snapshots", "referrers":
		return true
	}
	return false
}

// CheckCertificates finds every certificate under dataDir (*.crt files and
// the client certificates of *.kubeconfig files), sorted by name.
func CheckCertificates(dataDir string) ([]CertificateStatus, error) {
	var out []CertificateStatus
	err := filepath.WalkDir(dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == dataDir {
				return err
			}
			out = append(out, CertificateStatus{Name: relName(dataDir, path), Err: err})
			return nil
		}
		if d.IsDir() {
			if path != dataDir && skipDir(d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case strings.HasSuffix(path, ".crt"):
			cert, err := readCertFile(path)
			out = append(out, CertificateStatus{Name: strings.TrimSuffix(relName(dataDir, path), ".crt"), Cert: cert, Err: err})
		case strings.HasSuffix(path, ".kubeconfig"):
			cert, err := kubeconfigCert(path)
			if cert != nil || err != nil {
				out = append(out, CertificateStatus{Name: relName(dataDir, path), Cert: cert, Err: err})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk %s: %w", dataDir, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	clusterCA, _ := readCertFile(filepath.Join(dataDir, "tls", "ca.crt"))
	for i := range out {
		out[i].CA, out[i].AutoRenew = signer(out, out[i]), autoRenewed(out[i], clusterCA)
	}
	return out, nil
}

func relName(dir, path string) string {
	if r, err := filepath.Rel(dir, path); err == nil {
		return r
	}
	return path
}

// signer names the certificate among all that signed s.
func signer(all []CertificateStatus, s CertificateStatus) string {
	if s.Cert == nil {
		return ""
	}
	if s.Cert.IsCA && s.Cert.CheckSignatureFrom(s.Cert) == nil {
		return "-"
	}
	for _, ca := range all {
		if ca.Cert != nil && ca.Cert.IsCA && ca.Cert != s.Cert && s.Cert.CheckSignatureFrom(ca.Cert) == nil {
			return ca.Name
		}
	}
	return s.Cert.Issuer.CommonName
}

// autoRenewed: a leaf the cluster CA signed, kept in <data-dir>/tls or
// a component's kubeconfig at the top of the data dir, both reissued at
// start by the PKI; or a joined node's client and serving certificates,
// which the node renews through CSRs as it runs (NodeClientCert,
// kubelet/server.CSRCertificates).
func autoRenewed(s CertificateStatus, clusterCA *x509.Certificate) bool {
	if s.Cert == nil || s.Cert.IsCA {
		return false
	}
	switch filepath.ToSlash(s.Name) {
	case "agent/kubelet.kubeconfig", "agent/" + strings.TrimSuffix(registryClientCert, ".crt"), "agent/kubelet/pki/kubelet-server":
		return true
	case "tls/front-proxy/" + frontProxyClient: // its own CA signs it; FrontProxy renews it
		return true
	}
	if clusterCA == nil || s.Cert.CheckSignatureFrom(clusterCA) != nil {
		return false
	}
	return strings.HasPrefix(s.Name, "tls"+string(filepath.Separator)) || !strings.ContainsRune(s.Name, filepath.Separator)
}

func readCertFile(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseCertPEM(b)
}

func parseCertPEM(b []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

// kubeconfigCert returns the client certificate of a kubeconfig's current
// user (nil when it has none, e.g. a token).
func kubeconfigCert(path string) (*x509.Certificate, error) {
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return nil, err
	}
	ctx := cfg.Contexts[cfg.CurrentContext]
	if ctx == nil {
		return nil, nil
	}
	user := cfg.AuthInfos[ctx.AuthInfo]
	if user == nil {
		return nil, nil
	}
	data := user.ClientCertificateData
	if len(data) == 0 && user.ClientCertificate != "" {
		if data, err = os.ReadFile(user.ClientCertificate); err != nil {
			return nil, err
		}
	}
	if len(data) == 0 {
		return nil, nil
	}
	return parseCertPEM(data)
}

// Residual is how long until c expires at now, as kubeadm shows it
// (364d, 5h, 12m), or "<invalid>" once expired.
func Residual(c *x509.Certificate, now time.Time) string {
	d := c.NotAfter.Sub(now)
	switch {
	case d <= 0:
		return "<invalid>"
	case d >= 24*time.Hour:
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	case d >= time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	default:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	}
}
