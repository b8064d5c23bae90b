package clustertest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/util/keyutil"

	"github.com/kemudi/kemudi/internal/auth/bootstrap"
)

// NodeIdentity returns the identity of the kubelet of node name:
// system:node:<name> in system:nodes, with a client certificate, as a
// kubelet authenticates once bootstrapped.
func (s *Server) NodeIdentity(name string) *Identity {
	s.t.Helper()
	return s.UserIdentity("system:node:"+name, "system:nodes")
}

// BootstrapTokenIdentity creates the Secret that makes token a bootstrap
// token, as o says (an expiry in the past makes a token the server must
// refuse), and returns an identity using it: system:bootstrap:<id> in
// system:bootstrappers and o.ExtraGroups.
func (s *Server) BootstrapTokenIdentity(token bootstrap.Token, o bootstrap.SecretOptions) *Identity {
	s.t.Helper()
	secret := bootstrap.SecretFor(token, o)
	if _, err := s.Client.CoreV1().Secrets(metav1.NamespaceSystem).Create(context.Background(), secret, metav1.CreateOptions{}); err != nil {
		s.t.Fatalf("create bootstrap token %s: %v", token.ID, err)
	}
	return s.identity("bootstrap-"+token.ID, &clientcmdapi.AuthInfo{Token: token.String()})
}

// TokenIdentity returns an identity sending token as its bearer token,
// whatever it is (tests of tokens the server must refuse).
func (s *Server) TokenIdentity(name, token string) *Identity {
	s.t.Helper()
	return s.identity(name, &clientcmdapi.AuthInfo{Token: token})
}

// ForeignCertIdentity returns an identity with a client certificate for
// user in groups that a CA of its own signed, not the cluster's: the
// server must refuse it (401).
func (s *Server) ForeignCertIdentity(user string, groups ...string) *Identity {
	s.t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		s.t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "foreign-ca"},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		s.t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		s.t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		s.t.Fatal(err)
	}
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: user, Organization: groups},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, ca, &key.PublicKey, caKey)
	if err != nil {
		s.t.Fatal(err)
	}
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		s.t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return s.identity("foreign-"+user, &clientcmdapi.AuthInfo{ClientCertificateData: certPEM, ClientKeyData: keyPEM})
}
