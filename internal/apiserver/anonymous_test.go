package apiserver

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net/http/httptest"
	"testing"
)

// TestAnonymousAllows: only a request with no credentials at all is
// anonymous, as upstream's authenticator union with anonymous last and
// fail-on-error: a token or certificate that fails is a 401, never
// anonymous.
func TestAnonymousAllows(t *testing.T) {
	named := &x509.Certificate{Subject: pkix.Name{CommonName: "alice"}}
	nameless := &x509.Certificate{}
	verified := func(c *x509.Certificate) *tls.ConnectionState {
		return &tls.ConnectionState{PeerCertificates: []*x509.Certificate{c}, VerifiedChains: [][]*x509.Certificate{{c}}}
	}
	unverified := func(c *x509.Certificate) *tls.ConnectionState {
		return &tls.ConnectionState{PeerCertificates: []*x509.Certificate{c}}
	}
	on := AnonymousAuth{Enabled: true}
	for _, tc := range []struct {
		name   string
		anon   AnonymousAuth
		path   string
		header string
		tls    *tls.ConnectionState
		want   bool
	}{
		{name: "no credentials", anon: on, want: true},
		{name: "no credentials, off", anon: AnonymousAuth{}, want: false},
		{name: "TLS without a certificate", anon: on, tls: &tls.ConnectionState{}, want: true},
		{name: "bearer token", anon: on, header: "Bearer abc", want: false},
		{name: "bearer scheme in lower case", anon: on, header: "bearer abc", want: false},
		{name: "empty bearer token", anon: on, header: "Bearer ", want: true},
		{name: "space before the token", anon: on, header: "Bearer  abc", want: true},
		{name: "basic auth is not a credential here", anon: on, header: "Basic dTpw", want: true},
		{name: "a certificate naming a user", anon: on, tls: verified(named), want: false},
		{name: "an unverified certificate", anon: on, tls: unverified(nameless), want: false},
		{name: "a verified certificate naming no one", anon: on, tls: verified(nameless), want: true},
		{name: "path allowed", anon: AnonymousAuth{Enabled: true, Paths: []string{"/healthz", "/livez"}}, path: "/livez", want: true},
		{name: "path not allowed", anon: AnonymousAuth{Enabled: true, Paths: []string{"/healthz", "/livez"}}, path: "/api", want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = "/api/v1/pods"
			}
			r := httptest.NewRequest("GET", "https://localhost"+path, nil)
			r.TLS = tc.tls
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			if got := tc.anon.allows(r); got != tc.want {
				t.Errorf("allows = %v, want %v", got, tc.want)
			}
		})
	}
}
