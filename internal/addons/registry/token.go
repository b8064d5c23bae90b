package registry

import (
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/distribution/distribution/v3/registry/auth/token"
	"github.com/go-jose/go-jose/v4"
)

const (
	// Service is the token service name (the "service" of the challenge
	// and the tokens' audience).
	Service = "kemudi-registry"
	// tokenIssuer is the tokens' "iss".
	tokenIssuer = "kemudi-registry-token"
	// TokenPath is where the token endpoint is served.
	TokenPath = "/token"
	// NodeGroup is the certificate group (Organization) whose members
	// may pull without a password: the kubelets' client certificates.
	NodeGroup = "system:nodes"
	// tokenTTL is how long a token is good for: short, as Docker Hub's;
	// clients ask again on 401.
	tokenTTL = 5 * time.Minute
)

var cryptoSHA256 = crypto.SHA256

func base64URL(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// identity is who asks for a token.
type identity struct {
	name string
	node bool // pull only
}

// tokenHandler is the Docker token endpoint: GET with Basic auth (docker,
// podman, skopeo, crane) or POST with an OAuth2 password grant
// (containerd), or a node's client certificate.
type tokenHandler struct {
	key   *tokenKey
	users *userDB
	log   *slog.Logger
}

func (h *tokenHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid request: "+err.Error())
		return
	}
	if svc := r.Form.Get("service"); svc != "" && svc != Service {
		tokenError(w, http.StatusBadRequest, fmt.Sprintf("unknown service %q (this is %q)", svc, Service))
		return
	}
	id, ok, err := h.authenticate(r)
	if err != nil {
		h.log.Error("registry token: users file", "err", err)
		tokenError(w, http.StatusInternalServerError, "users file unreadable")
		return
	}
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="`+Service+`"`)
		tokenError(w, http.StatusUnauthorized, "authentication required: wrong user name or password")
		return
	}
	var access []*token.ResourceActions
	for _, s := range r.Form["scope"] {
		for _, one := range strings.Fields(s) {
			if ra := parseScope(one); ra != nil {
				if ra.Actions = grant(id, ra); len(ra.Actions) > 0 {
					access = append(access, ra)
				}
			}
		}
	}
	tok, err := h.sign(id.name, access)
	if err != nil {
		h.log.Error("registry token: sign", "err", err)
		tokenError(w, http.StatusInternalServerError, "cannot sign token")
		return
	}
	now := time.Now().UTC()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]any{
		"token": tok, "access_token": tok,
		"expires_in": int(tokenTTL / time.Second), "issued_at": now.Format(time.RFC3339),
	})
}

// authenticate finds who asks: Basic credentials (or the password grant's
// form fields) checked against the users file, else a node's verified
// client certificate, else anonymous (a token with no access). Wrong
// credentials are refused, not treated as anonymous.
func (h *tokenHandler) authenticate(r *http.Request) (identity, bool, error) {
	user, pass, basic := r.BasicAuth()
	if !basic && r.Method == http.MethodPost && r.PostForm.Get("grant_type") == "password" {
		user, pass, basic = r.PostForm.Get("username"), r.PostForm.Get("password"), true
	}
	if basic {
		ok, err := h.users.check(user, pass)
		if err != nil || !ok {
			return identity{}, false, err
		}
		return identity{name: user}, true, nil
	}
	if name, ok := nodeIdentity(r.TLS); ok {
		return identity{name: name, node: true}, true, nil
	}
	return identity{}, true, nil
}

// nodeIdentity returns the node a verified client certificate from the
// cluster CA names, when it is in system:nodes. (The TLS server verified
// the chain: ClientAuth VerifyClientCertIfGiven with the cluster CA.)
func nodeIdentity(cs *tls.ConnectionState) (string, bool) {
	if cs == nil || len(cs.VerifiedChains) == 0 {
		return "", false
	}
	cert := cs.VerifiedChains[0][0]
	if !slices.Contains(cert.Subject.Organization, NodeGroup) {
		return "", false
	}
	return cert.Subject.CommonName, true
}

// parseScope parses "repository:NAME:pull,push" (NAME has no colon, but
// the type may carry a class: "repository(plugin)").
func parseScope(s string) *token.ResourceActions {
	first, last := strings.Index(s, ":"), strings.LastIndex(s, ":")
	if first < 0 || first == last {
		return nil
	}
	typ, name := s[:first], s[first+1:last]
	ra := &token.ResourceActions{Type: typ, Name: name}
	if i := strings.Index(typ, "("); i > 0 && strings.HasSuffix(typ, ")") {
		ra.Type, ra.Class = typ[:i], typ[i+1:len(typ)-1]
	}
	for _, a := range strings.Split(s[last+1:], ",") {
		if a != "" && !slices.Contains(ra.Actions, a) {
			ra.Actions = append(ra.Actions, a)
		}
	}
	return ra
}

// grant is the access rule: users may do anything to every repository
// and list the catalog; nodes may pull; anonymous clients nothing.
func grant(id identity, ra *token.ResourceActions) []string {
	var allowed []string
	switch {
	case id.name == "":
		return nil
	case ra.Type == "repository" && id.node:
		allowed = []string{"pull"}
	case ra.Type == "repository":
		allowed = []string{"pull", "push", "delete", "*"}
	case ra.Type == "registry" && ra.Name == "catalog" && !id.node:
		allowed = []string{"*"}
	}
	var out []string
	for _, a := range ra.Actions {
		if slices.Contains(allowed, a) {
			out = append(out, a)
		}
	}
	return out
}

// sign issues a JWT that distribution's token access controller accepts.
func (h *tokenHandler) sign(subject string, access []*token.ResourceActions) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: h.key.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", h.key.kid))
	if err != nil {
		return "", err
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	now := time.Now()
	if access == nil {
		access = []*token.ResourceActions{}
	}
	claims, err := json.Marshal(token.ClaimSet{
		Issuer: tokenIssuer, Subject: subject, Audience: token.AudienceList{Service},
		Expiration: now.Add(tokenTTL).Unix(), NotBefore: now.Add(-time.Minute).Unix(), IssuedAt: now.Unix(),
		JWTID: base64URL(jti), Access: access,
	})
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(claims)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// tokenError answers in the registry's error format, which clients print.
func tokenError(w http.ResponseWriter, status int, msg string) {
	code := "UNAUTHORIZED"
	if status != http.StatusUnauthorized {
		code = "DENIED"
		if status == http.StatusBadRequest {
			code = "UNSUPPORTED"
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": code, "message": msg}}})
}
