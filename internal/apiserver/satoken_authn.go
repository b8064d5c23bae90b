package apiserver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/storage"
)

// The OpenID discovery paths upstream serves for service account tokens.
const (
	openIDConfigurationPath = "/.well-known/openid-configuration"
	jwksPath                = "/openid/v1/jwks"
)

// lookup reads one object of a served resource: from the cache, then,
// when the cache does not have it (yet), from etcd.
func (s *Server) lookup(ctx context.Context, group, version, resource, namespace, name string) (runtime.Object, error) {
	ep, ok := s.endpoints[endpointKey(group, version, resource)]
	if !ok {
		return nil, fmt.Errorf("resource %s/%s %s is not served", group, version, resource)
	}
	key := ep.key(namespace, name)
	obj, err := s.store.Get(ctx, key, "0")
	if storage.HasCode(err, storage.CodeNotFound) {
		obj, err = s.store.Get(ctx, key, "")
	}
	if storage.HasCode(err, storage.CodeNotFound) {
		return nil, apierrors.NewNotFound(ep.groupResource(), name)
	}
	if err != nil {
		return nil, err
	}
	return obj, nil
}

// authenticateServiceAccount accepts the tokens this server issued while
// their service account, and the object they are bound to, still exist.
func (s *Server) authenticateServiceAccount(token string) (*User, bool) {
	if s.tokens == nil || strings.Count(token, ".") != 2 {
		return nil, false
	}
	claims, err := s.tokens.verify(token)
	if err != nil {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	k := claims.Kubernetes
	now := metav1.NewTime(s.tokens.now())
	alive := func(resource, ns string, ref *tokenRef) bool {
		obj, err := s.lookup(ctx, "", "v1", resource, ns, ref.Name)
		if err != nil {
			return false
		}
		m, _ := meta.Accessor(obj)
		if ref.UID != "" && string(m.GetUID()) != ref.UID {
			return false
		}
		dt := m.GetDeletionTimestamp()
		return dt == nil || !dt.Before(&now)
	}
	if !alive("serviceaccounts", k.Namespace, &k.ServiceAccount) {
		return nil, false
	}
	if k.Pod != nil && !alive("pods", k.Namespace, k.Pod) {
		return nil, false
	}
	if k.Secret != nil && !alive("secrets", k.Namespace, k.Secret) {
		return nil, false
	}
	if k.Node != nil && k.Pod == nil && !alive("nodes", "", k.Node) {
		return nil, false
	}
	return &User{
		Name:   claims.Subject,
		UID:    k.ServiceAccount.UID,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + k.Namespace, "system:authenticated"},
		Extra:  serviceAccountExtra(claims),
	}, true
}

// The user extras a service account token adds, under upstream's keys:
// what the token is bound to, and which credential it is (for audit).
const (
	extraPodName      = "authentication.kubernetes.io/pod-name"
	extraPodUID       = "authentication.kubernetes.io/pod-uid"
	extraNodeName     = "authentication.kubernetes.io/node-name"
	extraNodeUID      = "authentication.kubernetes.io/node-uid"
	extraCredentialID = "authentication.kubernetes.io/credential-id"
)

// serviceAccountExtra is upstream's: the pod (name and uid, both or
// neither), the node (its uid only with its name), and "JTI=<id>".
func serviceAccountExtra(claims *saClaims) map[string][]string {
	extra := map[string][]string{}
	if k := claims.Kubernetes; k != nil {
		if p := k.Pod; p != nil && p.Name != "" && p.UID != "" {
			extra[extraPodName] = []string{p.Name}
			extra[extraPodUID] = []string{p.UID}
		}
		if n := k.Node; n != nil && n.Name != "" {
			extra[extraNodeName] = []string{n.Name}
			if n.UID != "" {
				extra[extraNodeUID] = []string{n.UID}
			}
		}
	}
	if claims.ID != "" {
		extra[extraCredentialID] = []string{"JTI=" + claims.ID}
	}
	if len(extra) == 0 {
		return nil
	}
	return extra
}

// serveOpenID serves the OpenID discovery document and the key set that
// let others verify service account tokens.
func (s *Server) serveOpenID(w http.ResponseWriter, r *http.Request) {
	if s.tokens == nil || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		s.writeError(w, output{mediaType: mediaJSON}, notFoundPath(r.URL.Path))
		return
	}
	doc, contentType := s.tokens.openIDConfiguration(), "application/json"
	if r.URL.Path == jwksPath {
		doc, contentType = s.tokens.jwks(), "application/jwk-set+json"
	}
	data, err := json.Marshal(doc)
	if err != nil {
		s.writeError(w, output{mediaType: mediaJSON}, apierrors.NewInternalError(err))
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(data)
}
