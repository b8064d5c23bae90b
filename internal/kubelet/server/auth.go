package server

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// user is who a request comes from.
type user struct {
	Username string
	UID      string
	Groups   []string
	Extra    map[string]authorizationv1.ExtraValue
}

// Upstream's webhook cache durations: tokens 2 minutes; decisions 5
// minutes when allowed, 30 seconds when denied.
const (
	tokenTTL   = 2 * time.Minute
	allowTTL   = 5 * time.Minute
	denyTTL    = 30 * time.Second
	cacheLimit = 4096
)

type authenticator struct {
	client kubernetes.Interface
	roots  *x509.CertPool
	tokens ttlCache[*user]
}

func newAuthenticator(client kubernetes.Interface, roots *x509.CertPool) *authenticator {
	return &authenticator{client: client, roots: roots}
}

// authenticate identifies a request by its verified client certificate
// (the TLS handshake checked it against the cluster CA) or its bearer
// token (a TokenReview). Anonymous requests are refused.
func (a *authenticator) authenticate(r *http.Request) (*user, bool) {
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
		c := r.TLS.PeerCertificates[0]
		if hasClientAuth(c) {
			return &user{Username: c.Subject.CommonName, Groups: append(append([]string{}, c.Subject.Organization...), "system:authenticated")}, true
		}
	}
	h := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || token == "" {
		return nil, false
	}
	key := fmt.Sprintf("%x", sha256.Sum256([]byte(token)))
	if u, ok := a.tokens.get(key); ok {
		return u, u != nil
	}
	tr, err := a.client.AuthenticationV1().TokenReviews().Create(r.Context(), &authenticationv1.TokenReview{
		Spec: authenticationv1.TokenReviewSpec{Token: token},
	}, metav1.CreateOptions{})
	if err != nil {
		// Not cached: the API may be back on the next request.
		return nil, false
	}
	var u *user
	if tr.Status.Authenticated {
		u = &user{Username: tr.Status.User.Username, UID: tr.Status.User.UID, Groups: tr.Status.User.Groups, Extra: map[string]authorizationv1.ExtraValue{}}
		for k, v := range tr.Status.User.Extra {
			u.Extra[k] = authorizationv1.ExtraValue(v)
		}
	}
	a.tokens.put(key, u, tokenTTL)
	return u, u != nil
}

func hasClientAuth(c *x509.Certificate) bool {
	for _, u := range c.ExtKeyUsage {
		if u == x509.ExtKeyUsageClientAuth || u == x509.ExtKeyUsageAny {
			return true
		}
	}
	return len(c.ExtKeyUsage) == 0
}

type authorizer struct {
	client    kubernetes.Interface
	node      string
	decisions ttlCache[bool]
}

func newAuthorizer(client kubernetes.Interface, node string) *authorizer {
	return &authorizer{client: client, node: node}
}

// subresourcesFor maps a kubelet path to the node subresources that allow
// it, in order, as upstream does (with its fine-grained subresources,
// which fall back to nodes/proxy).
func subresourcesFor(path string) []string {
	switch {
	case path == "/stats" || strings.HasPrefix(path, "/stats/"):
		return []string{"stats"}
	case path == "/metrics" || strings.HasPrefix(path, "/metrics/"):
		return []string{"metrics"}
	case path == "/logs" || strings.HasPrefix(path, "/logs/"):
		return []string{"log"}
	case path == "/spec" || strings.HasPrefix(path, "/spec/"):
		return []string{"spec"}
	case path == "/checkpoint" || strings.HasPrefix(path, "/checkpoint/"):
		return []string{"checkpoint"}
	case path == "/healthz" || strings.HasPrefix(path, "/healthz/"):
		return []string{"healthz", "proxy"}
	case path == "/pods" || path == "/runningpods" || strings.HasPrefix(path, "/runningpods/"):
		return []string{"pods", "proxy"}
	case path == "/configz":
		return []string{"configz", "proxy"}
	}
	return []string{"proxy"}
}

func verbFor(method string) string {
	switch method {
	case http.MethodPost:
		return "create"
	case http.MethodPut:
		return "update"
	case http.MethodPatch:
		return "patch"
	case http.MethodDelete:
		return "delete"
	}
	return "get"
}

// authorize asks the API server whether u may make r: a
// SubjectAccessReview on the node's subresource for the path. attrs is the
// last one asked, for the caller's message.
func (z *authorizer) authorize(ctx context.Context, u *user, r *http.Request) (bool, authorizationv1.ResourceAttributes, error) {
	var attrs authorizationv1.ResourceAttributes
	for _, sub := range subresourcesFor(r.URL.Path) {
		attrs = authorizationv1.ResourceAttributes{Verb: verbFor(r.Method), Resource: "nodes", Subresource: sub, Name: z.node}
		key := fmt.Sprintf("%s\x00%s\x00%v\x00%s\x00%s", u.Username, u.UID, u.Groups, attrs.Verb, sub)
		if len(u.Extra) > 0 {
			key += fmt.Sprintf("\x00%v", u.Extra)
		}
		allowed, ok := z.decisions.get(key)
		if !ok {
			sar, err := z.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
				Spec: authorizationv1.SubjectAccessReviewSpec{
					User: u.Username, UID: u.UID, Groups: u.Groups, Extra: u.Extra, ResourceAttributes: &attrs,
				},
			}, metav1.CreateOptions{})
			if err != nil {
				return false, attrs, fmt.Errorf("subject access review: %w", err)
			}
			allowed = sar.Status.Allowed
			ttl := denyTTL
			if allowed {
				ttl = allowTTL
			}
			z.decisions.put(key, allowed, ttl)
		}
		if allowed {
			return true, attrs, nil
		}
	}
	return false, attrs, nil
}

// ttlCache is a small map of answers that expire; full, it is emptied
// rather than grown (a flood of distinct tokens must not grow memory).
type ttlCache[V any] struct {
	mu sync.Mutex
	m  map[string]ttlEntry[V]
}

type ttlEntry[V any] struct {
	v       V
	expires time.Time
}

func (c *ttlCache[V]) get(k string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || time.Now().After(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *ttlCache[V]) put(k string, v V, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= cacheLimit {
		c.m = map[string]ttlEntry[V]{}
	}
	c.m[k] = ttlEntry[V]{v: v, expires: time.Now().Add(ttl)}
}
