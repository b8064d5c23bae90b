package serviceaccount

import (
	"context"
	"fmt"
	"slices"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
)

// Upstream's token lifetime rules.
const (
	defaultTokenExpiration = time.Hour
	minTokenExpiration     = 10 * time.Minute
	maxTokenExpiration     = (1 << 32) * time.Second
	// A pod's projected token asks for warnOnlyExpiration seconds; it is
	// signed for extendedExpiration, with a warning after the hour, so
	// that clients that do not reread their token keep working
	// (upstream's --service-account-extend-token-expiration, default on).
	warnOnlyExpiration = 3607
	extendedExpiration = 365 * 24 * time.Hour
)

var tokenRequestGK = schema.GroupKind{Group: authenticationv1.GroupName, Kind: "TokenRequest"}

// tokenAction is serviceaccounts/<name>/token: upstream's TokenRequest.
func tokenAction() *registry.Action {
	return &registry.Action{
		New: func() runtime.Object { return &authenticationv1.TokenRequest{} },
		Run: func(ctx context.Context, call *registry.Call) (runtime.Object, error) {
			return RequestToken(ctx, call)
		},
	}
}

// RequestToken answers a TokenRequest for the account call names: a
// token signed by the server, for the requested audiences (the API's by
// default) and lifetime (an hour by default, at least 10 minutes, capped
// by the server's maximum with a warning), bound to a pod, secret or
// node when asked. A pod's projected token is signed for a year and
// warns after its hour, as upstream's. A dry run signs nothing.
func RequestToken(ctx context.Context, call *registry.Call) (*authenticationv1.TokenRequest, error) {
	if call.Tokens == nil {
		return nil, fmt.Errorf("service account tokens: %w", registry.ErrNotServed)
	}
	req := call.Body.(*authenticationv1.TokenRequest)
	ns, name := call.Namespace, call.Name
	if req.Name != "" && req.Name != name {
		return nil, apierrors.NewInvalid(tokenRequestGK, name, field.ErrorList{
			field.Invalid(field.NewPath("metadata", "name"), req.Name, "must match the service account name if specified")})
	}
	if req.Namespace != "" && req.Namespace != ns {
		return nil, apierrors.NewInvalid(tokenRequestGK, name, field.ErrorList{
			field.Invalid(field.NewPath("metadata", "namespace"), req.Namespace, "must match the service account namespace if specified")})
	}
	obj, err := lookup(ctx, call.Store, "serviceaccounts", ns, name)
	if err != nil {
		return nil, err
	}
	sa := obj.(*corev1.ServiceAccount)
	if req.Spec.ExpirationSeconds == nil {
		e := int64(defaultTokenExpiration / time.Second)
		req.Spec.ExpirationSeconds = &e
	}
	if len(req.Spec.Audiences) == 0 {
		req.Spec.Audiences = append([]string(nil), call.Tokens.Audiences()...)
	}
	req.Name, req.Namespace = name, ns
	req.CreationTimestamp = metav1.Now()
	req.Status = authenticationv1.TokenRequestStatus{}
	if errs := ValidateTokenRequest(req); len(errs) > 0 {
		return nil, apierrors.NewInvalid(tokenRequestGK, "", errs)
	}
	claims := registry.TokenClaims{Namespace: ns, ServiceAccount: registry.TokenRef{Name: sa.Name, UID: string(sa.UID)}}
	if ref := req.Spec.BoundObjectRef; ref != nil {
		if err := bindToken(ctx, call.Store, ns, sa, ref, &claims); err != nil {
			return nil, err
		}
	}
	if max := int64(call.Tokens.MaxExpiration() / time.Second); max > 0 && *req.Spec.ExpirationSeconds > max {
		call.Warnings = append(call.Warnings, fmt.Sprintf("requested expiration of %d seconds shortened to %d seconds", *req.Spec.ExpirationSeconds, max))
		req.Spec.ExpirationSeconds = &max
	}
	// req is this request's own decoded body: the answer is made from it.
	req.APIVersion, req.Kind = authenticationv1.SchemeGroupVersion.String(), "TokenRequest"
	if call.DryRun {
		return req, nil
	}
	lifetime := time.Duration(*req.Spec.ExpirationSeconds) * time.Second
	signed := lifetime
	if claims.Pod != nil && *req.Spec.ExpirationSeconds == warnOnlyExpiration && subset(req.Spec.Audiences, call.Tokens.Audiences()) {
		claims.WarnAfter, signed = lifetime, extendedExpiration
	}
	token, exp, err := call.Tokens.Issue(claims, req.Spec.Audiences, signed)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	// The answer tells the lifetime asked for, not the extended one.
	req.Status = authenticationv1.TokenRequestStatus{Token: token, ExpirationTimestamp: metav1.NewTime(exp.Add(lifetime - signed))}
	return req, nil
}

// subset reports whether every one of some is in all.
func subset(some, all []string) bool {
	for _, s := range some {
		if !slices.Contains(all, s) {
			return false
		}
	}
	return true
}

// ValidateTokenRequest checks a defaulted TokenRequest's spec.
func ValidateTokenRequest(req *authenticationv1.TokenRequest) field.ErrorList {
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
func bindToken(ctx context.Context, store registry.Store, ns string, sa *corev1.ServiceAccount, ref *authenticationv1.BoundObjectReference, claims *registry.TokenClaims) error {
	kind := schema.FromAPIVersionAndKind(ref.APIVersion, ref.Kind)
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil || gv.Group != "" || ref.Name == "" {
		return apierrors.NewBadRequest(fmt.Sprintf("cannot bind token to object of type %s", kind))
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
		return apierrors.NewBadRequest(fmt.Sprintf("cannot bind token to object of type %s", kind))
	}
	obj, err := lookup(ctx, store, resource, ns, ref.Name)
	if err != nil {
		return err
	}
	m, _ := meta.Accessor(obj)
	if ref.UID != "" && ref.UID != m.GetUID() {
		return apierrors.NewConflict(schema.GroupResource{Resource: ref.Kind}, ref.Name,
			fmt.Errorf("the UID in the bound object reference (%s) does not match the UID in record. The object might have been deleted and then recreated", ref.UID))
	}
	bound := &registry.TokenRef{Name: m.GetName(), UID: string(m.GetUID())}
	switch o := obj.(type) {
	case *corev1.Pod:
		if o.Spec.ServiceAccountName != sa.Name {
			return apierrors.NewBadRequest(fmt.Sprintf("cannot bind token for serviceaccount %q to pod running with different serviceaccount name.", sa.Name))
		}
		claims.Pod = bound
		if o.Spec.NodeName != "" {
			// The node's name even when the node is gone, as upstream.
			claims.Node = &registry.TokenRef{Name: o.Spec.NodeName}
			if n, err := lookup(ctx, store, "nodes", "", o.Spec.NodeName); err == nil {
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

// lookup reads a core/v1 object from the cache, or, when the cache does
// not have it (yet), from etcd.
func lookup(ctx context.Context, store registry.Store, resource, namespace, name string) (runtime.Object, error) {
	gvr := corev1.SchemeGroupVersion.WithResource(resource)
	obj, err := store.Get(ctx, gvr, namespace, name, "0")
	if apierrors.IsNotFound(err) {
		obj, err = store.Get(ctx, gvr, namespace, name, "")
	}
	return obj, err
}
