package apiserver

import (
	"context"
	"crypto/x509"
	"net/http"
	"sync"
	"time"
)

// The TLS handshake only asks for a client certificate (upstream's
// RequestClientCert), so that a certificate from another CA is refused
// with upstream's 401 rather than a handshake error; the authenticator
// verifies it. It does so once per connection, as a verifying handshake
// would, not on every request: connVerification remembers the answer.
type connVerification struct {
	mu   sync.Mutex
	leaf *x509.Certificate
	ok   bool
}

type connVerificationKey struct{}

// withConnVerification gives a connection's context its memory of the
// client certificate's verification.
func withConnVerification(ctx context.Context) context.Context {
	return context.WithValue(ctx, connVerificationKey{}, &connVerification{})
}

// verifyClientCert reports whether r's client certificate chains to
// roots for client authentication, valid now.
func verifyClientCert(r *http.Request, roots *x509.CertPool) bool {
	certs := r.TLS.PeerCertificates
	leaf := certs[0]
	if len(r.TLS.VerifiedChains) > 0 {
		return true
	}
	if roots == nil {
		return false
	}
	// Expiry is checked on every request: a connection outlives its
	// certificate.
	if now := time.Now(); now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return false
	}
	cv, _ := r.Context().Value(connVerificationKey{}).(*connVerification)
	if cv != nil {
		cv.mu.Lock()
		defer cv.mu.Unlock()
		if cv.leaf == leaf {
			return cv.ok
		}
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if cv != nil {
		cv.leaf, cv.ok = leaf, err == nil
	}
	return err == nil
}

// clientCertVerified reports whether r's client certificate was verified
// on its connection (by the handshake or by the authenticator).
func clientCertVerified(r *http.Request) bool {
	if len(r.TLS.VerifiedChains) > 0 {
		return true
	}
	cv, _ := r.Context().Value(connVerificationKey{}).(*connVerification)
	if cv == nil {
		return false
	}
	cv.mu.Lock()
	defer cv.mu.Unlock()
	return cv.leaf == r.TLS.PeerCertificates[0] && cv.ok
}
