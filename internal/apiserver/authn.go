package apiserver

import (
	"crypto/x509"
	"net/http"

	"github.com/kemudi/kemudi/internal/auth"
)

// User is who made a request.
type User = auth.User

// Authenticator identifies the caller of a request; ok is false when the
// request carries no credentials it accepts.
type Authenticator interface {
	Authenticate(r *http.Request) (user *User, ok bool)
}

// Authenticators tries each authenticator in turn.
type Authenticators []Authenticator

// Authenticate implements Authenticator.
func (as Authenticators) Authenticate(r *http.Request) (*User, bool) {
	for _, a := range as {
		if u, ok := a.Authenticate(r); ok {
			return u, true
		}
	}
	return nil, false
}

// ClientCertAuthenticator accepts client certificates that chain to the
// cluster CA: the common name is the user, the organizations are its
// groups (as upstream). A certificate that names no user is no
// credential (upstream's x509 authenticator leaves it to anonymous).
type ClientCertAuthenticator struct {
	// Roots verifies the chain when the TLS handshake only asked for a
	// certificate (clientcert.go).
	Roots *x509.CertPool
}

// Authenticate implements Authenticator.
func (a ClientCertAuthenticator) Authenticate(r *http.Request) (*User, bool) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil, false
	}
	if !verifyClientCert(r, a.Roots) {
		return nil, false
	}
	leaf := r.TLS.PeerCertificates[0]
	if leaf.Subject.CommonName == "" {
		return nil, false
	}
	groups := append([]string(nil), leaf.Subject.Organization...)
	groups = append(groups, "system:authenticated")
	return &User{Name: leaf.Subject.CommonName, Groups: groups}, true
}

// TokenAuthenticator accepts bearer tokens from a lookup function.
type TokenAuthenticator func(token string) (*User, bool)

// Authenticate implements Authenticator.
func (f TokenAuthenticator) Authenticate(r *http.Request) (*User, bool) {
	token, ok := bearerToken(r)
	if !ok {
		return nil, false
	}
	return f(token)
}

func (s *Server) authenticate(r *http.Request) (*User, bool) {
	// A local socket's connections are its component; a bearer token
	// says which part of it (a controller's own service account).
	if u, ok := localUser(r); ok && r.Header.Get("Authorization") == "" {
		return u, true
	}
	if s.authn == nil {
		return nil, false
	}
	return s.authn.Authenticate(r)
}
