package apiserver

import (
	"net/http"
	"slices"
	"strings"

	"github.com/kemudi/kemudi/internal/auth"
)

// AnonymousAuth is upstream's --anonymous-auth: a request that carries
// no credentials is the user system:anonymous in the group
// system:unauthenticated, authorized like anyone else (the bootstrap
// policy lets it read /healthz, /livez, /readyz and /version). A request
// whose credentials fail is refused with 401 whatever this says.
type AnonymousAuth struct {
	Enabled bool
	// Paths, when not empty, are the only paths anonymous requests may
	// reach (upstream's AuthenticationConfiguration anonymous.conditions);
	// elsewhere they get 401.
	Paths []string
}

// anonymousUser is who a request without credentials is.
var anonymousUser = &User{Name: auth.Anonymous, Groups: []string{auth.Unauthenticated}}

// allows reports whether r, which no authenticator accepted, is served
// as system:anonymous.
func (a AnonymousAuth) allows(r *http.Request) bool {
	if !a.Enabled || presentsCredentials(r) {
		return false
	}
	return len(a.Paths) == 0 || slices.Contains(a.Paths, r.URL.Path)
}

// presentsCredentials reports whether r carries credentials an
// authenticator would judge, as upstream's authenticators see it: a
// bearer token, or a client certificate unless it verified and names no
// user (upstream's x509 authenticator passes those on to anonymous).
func presentsCredentials(r *http.Request) bool {
	if _, ok := bearerToken(r); ok {
		return true
	}
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return false
	}
	return !clientCertVerified(r) || r.TLS.PeerCertificates[0].Subject.CommonName != ""
}

// bearerToken is the token of an "Authorization: Bearer <token>" header,
// parsed as upstream: the scheme in any case, the token the second
// space-separated word, an empty one no token at all.
func bearerToken(r *http.Request) (string, bool) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return "", false
	}
	parts := strings.SplitN(h, " ", 3)
	if len(parts) < 2 || !strings.EqualFold(parts[0], "bearer") || parts[1] == "" {
		return "", false
	}
	return parts[1], true
}
