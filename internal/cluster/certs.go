package cluster

import (
	"crypto"
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
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

const (
	caValidity   = 10 * 365 * 24 * time.Hour
	certValidity = 365 * 24 * time.Hour
)

// PKI is the cluster's certificate authority and the certificates it
// signed, kept in <data-dir>/tls.
type PKI struct {
	Dir    string
	CA     *x509.Certificate
	CAKey  crypto.Signer
	CAPool *x509.CertPool
}

// LoadOrCreatePKI reads the CA from dir, creating it on first start.
func LoadOrCreatePKI(dir string) (*PKI, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	p := &PKI{Dir: dir}
	certPath, keyPath := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
	cert, key, err := readPair(certPath, keyPath)
	if errors.Is(err, os.ErrNotExist) {
		cert, key, err = newCA("kemudi-ca")
		if err == nil {
			err = writePair(certPath, keyPath, cert, key)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("cluster CA: %w", err)
	}
	p.CA, p.CAKey = cert, key
	p.CAPool = x509.NewCertPool()
	p.CAPool.AddCert(cert)
	return p, nil
}

// CAPEM returns the CA certificate in PEM form.
func (p *PKI) CAPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.CA.Raw})
}

// ServingCert returns the API server's certificate for the given names and
// addresses, reissuing it when they changed.
func (p *PKI) ServingCert(name string, hosts []string) (tls.Certificate, error) {
	certPath, keyPath := filepath.Join(p.Dir, name+".crt"), filepath.Join(p.Dir, name+".key")
	if cert, key, ok := p.reuse(certPath, keyPath, hosts); ok {
		return tlsPair(cert, key), nil
	}
	return p.issueServing(name, hosts)
}

// issueServing signs a new serving certificate for hosts under name.
func (p *PKI) issueServing(name string, hosts []string) (tls.Certificate, error) {
	certPath, keyPath := filepath.Join(p.Dir, name+".crt"), filepath.Join(p.Dir, name+".key")
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return p.issue(certPath, keyPath, tmpl)
}

// ClientCert returns a client certificate for user in groups, reusing the
// one on disk.
func (p *PKI) ClientCert(name, user string, groups []string) (tls.Certificate, error) {
	certPath, keyPath := filepath.Join(p.Dir, name+".crt"), filepath.Join(p.Dir, name+".key")
	if cert, key, ok := p.reuse(certPath, keyPath, nil); ok {
		return tlsPair(cert, key), nil
	}
	return p.issueClient(name, user, groups)
}

// issueClient signs a new client certificate for user in groups under
// name.
func (p *PKI) issueClient(name, user string, groups []string) (tls.Certificate, error) {
	certPath, keyPath := filepath.Join(p.Dir, name+".crt"), filepath.Join(p.Dir, name+".key")
	return p.issue(certPath, keyPath, &x509.Certificate{
		Subject:     pkix.Name{CommonName: user, Organization: groups},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
}

// reuse reads the pair at certPath and keyPath and says whether it can
// be served as is: signed by this CA and not due for renewal
// (needsRenewal). A pair that must be reissued is logged with the reason.
func (p *PKI) reuse(certPath, keyPath string, hosts []string) (*x509.Certificate, crypto.Signer, bool) {
	cert, key, err := readPair(certPath, keyPath)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			slog.Warn("reissuing an unreadable certificate", "cert", certPath, "err", err)
		}
		return nil, nil, false
	}
	if err := cert.CheckSignatureFrom(p.CA); err != nil {
		slog.Info("reissuing a certificate the cluster CA did not sign", "cert", certPath)
		return nil, nil, false
	}
	if renew, why := needsRenewal(cert, time.Now(), hosts); renew {
		slog.Info("renewing certificate", "cert", certPath, "subject", cert.Subject.CommonName, "reason", why)
		return nil, nil, false
	}
	return cert, key, true
}

// issue signs a new key for tmpl's subject and names, valid for
// certValidity, and writes the pair.
func (p *PKI) issue(certPath, keyPath string, tmpl *x509.Certificate) (tls.Certificate, error) {
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(certValidity)
	return p.signWith(certPath, keyPath, tmpl)
}

// signWith signs a new key for tmpl as it is (validity included) and
// writes the pair.
func (p *PKI) signWith(certPath, keyPath string, tmpl *x509.Certificate) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl.SerialNumber = serial
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.CA, key.Public(), p.CAKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("sign %s: %w", certPath, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := writePair(certPath, keyPath, cert, key); err != nil {
		return tls.Certificate{}, err
	}
	return tlsPair(cert, key), nil
}

func tlsPair(cert *x509.Certificate, key crypto.Signer) tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}
}

func newCA(name string) (*x509.Certificate, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: fmt.Sprintf("%s@%d", name, time.Now().Unix())},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func readPair(certPath, keyPath string) (*x509.Certificate, crypto.Signer, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, err
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, nil, fmt.Errorf("%s or %s is not PEM", certPath, keyPath)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("parse %s: %w", certPath, err)
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("parse %s: %w", keyPath, err)
	}
	return cert, key, nil
}

func writePair(certPath, keyPath string, cert *x509.Certificate, key crypto.Signer) error {
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return fmt.Errorf("unsupported key type %T", key)
	}
	der, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644)
}
