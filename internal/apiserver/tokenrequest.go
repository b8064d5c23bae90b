package apiserver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

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

// serveTokenRequest serves serviceaccounts/<name>/token: a signed token
// for the account, bound to a pod, secret or node when asked, as
// upstream's TokenRequest.
func (s *Server) serveTokenRequest(rq *request) {
	if s.tokens == nil {
		s.writeError(rq.w, rq.out, notFoundPath(rq.r.URL.Path))
		return
	}
	dry, err := dryRun(rq.r)
	if err != nil {
		s.fail(rq, err)
		return
	}
	obj, _, err := s.decodeBody(rq, authenticationv1.SchemeGroupVersion.WithKind("TokenRequest"), &authenticationv1.TokenRequest{})
	if err != nil {
		s.fail(rq, err)
		return
	}
	req := obj.(*authenticationv1.TokenRequest)
	ctx, ns, name := rq.ctx(), rq.info.Namespace, rq.info.Name
	if req.Name != "" && req.Name != name {
		s.fail(rq, apierrors.NewBadRequest("the name of the token request does not match the name of the service account"))
		return
	}
	if req.Spec.ExpirationSeconds == nil {
		e := int64(defaultTokenExpiration / time.Second)
		req.Spec.ExpirationSeconds = &e
	}
	if len(req.Spec.Audiences) == 0 {
		req.Spec.Audiences = append([]string(nil), s.tokens.cfg.Audiences...)
	}
	if errs := validateTokenRequest(req); len(errs) > 0 {
		s.fail(rq, apierrors.NewInvalid(schema.GroupKind{Group: authenticationv1.GroupName, Kind: "TokenRequest"}, name, errs))
		return
	}
	saObj, err := s.lookup(ctx, "", "v1", "serviceaccounts", ns, name)
	if err != nil {
		s.fail(rq, err)
		return
	}
	sa := saObj.(*corev1.ServiceAccount)
	claims := &kubernetesClaims{Namespace: ns, ServiceAccount: tokenRef{Name: sa.Name, UID: string(sa.UID)}}
	if ref := req.Spec.BoundObjectRef; ref != nil {
		if err := s.bindToken(ctx, ns, sa, ref, claims); err != nil {
			s.fail(rq, err)
			return
		}
	}
	lifetime := time.Duration(*req.Spec.ExpirationSeconds) * time.Second
	if max := s.tokens.cfg.MaxExpiration; max > 0 && lifetime > max {
		lifetime = max
		e := int64(max / time.Second)
		req.Spec.ExpirationSeconds = &e
	}
	// req is this request's own decoded body: the answer is made from it.
	req.Name, req.Namespace = name, ns
	req.APIVersion, req.Kind = authenticationv1.SchemeGroupVersion.String(), "TokenRequest"
	if !dry {
		token, exp, err := s.tokens.issue(claims, req.Spec.Audiences, lifetime)
		if err != nil {
			s.fail(rq, apierrors.NewInternalError(err))
			return
		}
		req.Status = authenticationv1.TokenRequestStatus{Token: token, ExpirationTimestamp: metav1.NewTime(exp)}
	}
	s.write(rq.w, rq.out, http.StatusCreated, req)
}

func validateTokenRequest(req *authenticationv1.TokenRequest) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec", "expirationSeconds")
	e := *req.Spec.ExpirationSeconds
	if e < int64(minTokenExpiration/time.Second) {
		errs = append(errs, field.Invalid(p, e, "may not specify a duration less than 10 minutes"))
	}
	if e > int64(maxTokenExpiration/time.Second) {
		errs = append(errs, field.TooLong(p, e, 1<<32))
	}
	return errs
}

// bindToken checks the object a token is to be bound to and adds it to
// the claims (a pod's node too).
func (s *Server) bindToken(ctx context.Context, ns string, sa *corev1.ServiceAccount, ref *authenticationv1.BoundObjectReference, claims *kubernetesClaims) error {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil || gv.Group != "" || ref.Name == "" {
		return apierrors.NewBadRequest(fmt.Sprintf("cannot bind token to object of type %s", schema.FromAPIVersionAndKind(ref.APIVersion, ref.Kind)))
	}
	var resource string
	switch ref.Kind {
	case "Pod":
		resource = "pods"
	case "Secret":
		resource = "secrets"
	case "Node":
		resource, ns = "nodes", ""
	default:
		return apierrors.NewBadRequest(fmt.Sprintf("cannot bind token to object of type %s", schema.FromAPIVersionAndKind(ref.APIVersion, ref.Kind)))
	}
	obj, err := s.lookup(ctx, "", "v1", resource, ns, ref.Name)
	if err != nil {
		return err
	}
	m, _ := meta.Accessor(obj)
	if ref.UID != "" && ref.UID != m.GetUID() {
		return apierrors.NewConflict(schema.GroupResource{Resource: ref.Kind}, ref.Name,
			fmt.Errorf("the UID in the bound object reference (%s) does not match the UID in record. The object might have been deleted and then recreated", ref.UID))
	}
	bound := &tokenRef{Name: m.GetName(), UID: string(m.GetUID())}
	switch o := obj.(type) {
	case *corev1.Pod:
		if o.Spec.ServiceAccountName != sa.Name {
			return apierrors.NewBadRequest(fmt.Sprintf("cannot bind token for serviceaccount %q to pod running with different serviceaccount name.", sa.Name))
		}
		claims.Pod = bound
		if o.Spec.NodeName != "" {
			claims.Node = &tokenRef{Name: o.Spec.NodeName}
			if n, err := s.lookup(ctx, "", "v1", "nodes", "", o.Spec.NodeName); err == nil {
				claims.Node.UID = string(n.(*corev1.Node).UID)
			}
		}
	case *corev1.Secret:
		claims.Secret = bound
	case *corev1.Node:
		claims.Node = bound
	}
	return nil
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
	}, true
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
