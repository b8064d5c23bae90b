package apiserver

import (
	"net/http"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/auth"
	"github.com/kemudi/kemudi/internal/registry"
)

// reviewResources are the create-only APIs that answer questions instead
// of storing objects: who am I, who is this token, may this user do that.
// They are listed in discovery (create only) and never reach storage.
func reviewResources() []*registry.Resource {
	r := func(gv schema.GroupVersion, resource, kind string, namespaced bool, newObj func() runtime.Object) *registry.Resource {
		return &registry.Resource{GroupVersion: gv, Resource: resource, Kind: kind, Namespaced: namespaced, New: newObj}
	}
	authn, authz := authenticationv1.SchemeGroupVersion, authorizationv1.SchemeGroupVersion
	return []*registry.Resource{
		r(authn, "selfsubjectreviews", "SelfSubjectReview", false, func() runtime.Object { return &authenticationv1.SelfSubjectReview{} }),
		r(authn, "tokenreviews", "TokenReview", false, func() runtime.Object { return &authenticationv1.TokenReview{} }),
		r(authz, "localsubjectaccessreviews", "LocalSubjectAccessReview", true, func() runtime.Object { return &authorizationv1.LocalSubjectAccessReview{} }),
		r(authz, "selfsubjectaccessreviews", "SelfSubjectAccessReview", false, func() runtime.Object { return &authorizationv1.SelfSubjectAccessReview{} }),
		r(authz, "selfsubjectrulesreviews", "SelfSubjectRulesReview", false, func() runtime.Object { return &authorizationv1.SelfSubjectRulesReview{} }),
		r(authz, "subjectaccessreviews", "SubjectAccessReview", false, func() runtime.Object { return &authorizationv1.SubjectAccessReview{} }),
	}
}

var createOnly = []string{"create"}

// serveReview answers a review request; it returns false for other
// requests.
func (s *Server) serveReview(w http.ResponseWriter, r *http.Request, out output, info *requestInfo, u *User) bool {
	ep, ok := s.endpoints[endpointKey(info.Group, info.Version, info.Resource)]
	if !ok || !ep.review {
		return false
	}
	rq := &request{w: w, r: r, info: *info, ep: ep, out: out, user: u}
	if info.Verb != "create" || info.Name != "" || info.Subresource != "" || ep.Namespaced != (info.Namespace != "") {
		s.writeError(w, out, methodNotSupported(ep.groupResource(), info.Verb))
		return true
	}
	if out, ok = negotiatePlain(r); !ok {
		s.writeError(w, output{mediaType: mediaJSON}, notAcceptable())
		return true
	}
	rq.out = out
	obj, _, err := s.decodeBody(rq, ep.gvk, ep.New())
	if err != nil {
		s.fail(rq, err)
		return true
	}
	result, err := s.review(rq, obj)
	if err != nil {
		s.fail(rq, err)
		return true
	}
	result.GetObjectKind().SetGroupVersionKind(ep.gvk)
	s.write(w, out, http.StatusCreated, result)
	return true
}

func (s *Server) review(rq *request, obj runtime.Object) (runtime.Object, error) {
	u := rq.user
	switch o := obj.(type) {
	case *authenticationv1.SelfSubjectReview:
		o.Status.UserInfo = userInfo(u)
	case *authenticationv1.TokenReview:
		if o.Spec.Token == "" {
			return nil, apierrors.NewInvalid(schemaGK(authenticationv1.GroupName, "TokenReview"), "", field.ErrorList{field.Required(field.NewPath("spec", "token"), "")})
		}
		o.Status = s.tokenReview(o.Spec.Token)
	case *authorizationv1.SubjectAccessReview:
		if err := validateAccessSpec(&o.Spec, true); err != nil {
			return nil, err
		}
		o.Status = s.accessReview(rq, &o.Spec)
	case *authorizationv1.LocalSubjectAccessReview:
		if err := validateAccessSpec(&o.Spec, true); err != nil {
			return nil, err
		}
		ra := o.Spec.ResourceAttributes
		if ra == nil || ra.Namespace != rq.info.Namespace {
			return nil, apierrors.NewBadRequest("spec.resourceAttributes.namespace must match namespace: " + rq.info.Namespace)
		}
		o.Namespace = rq.info.Namespace
		o.Status = s.accessReview(rq, &o.Spec)
	case *authorizationv1.SelfSubjectAccessReview:
		spec := authorizationv1.SubjectAccessReviewSpec{
			ResourceAttributes: o.Spec.ResourceAttributes, NonResourceAttributes: o.Spec.NonResourceAttributes,
			User: u.Name, Groups: u.Groups, UID: u.UID, Extra: extraValues[authorizationv1.ExtraValue](u.Extra),
		}
		if err := validateAccessSpec(&spec, false); err != nil {
			return nil, err
		}
		o.Status = s.accessReview(rq, &spec)
	case *authorizationv1.SelfSubjectRulesReview:
		o.Status = s.rulesReview(rq, u, o.Spec.Namespace)
	default:
		return nil, apierrors.NewBadRequest("not a review")
	}
	return obj, nil
}

func userInfo(u *User) authenticationv1.UserInfo {
	return authenticationv1.UserInfo{Username: u.Name, UID: u.UID, Groups: u.Groups, Extra: extraValues[authenticationv1.ExtraValue](u.Extra)}
}

func extraValues[T ~[]string](in map[string][]string) map[string]T {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]T, len(in))
	for k, v := range in {
		out[k] = T(v)
	}
	return out
}

// tokenReview authenticates a bearer token as a request carrying it would
// be (for webhooks and kubelets that delegate authentication).
func (s *Server) tokenReview(token string) authenticationv1.TokenReviewStatus {
	if s.authn == nil {
		return authenticationv1.TokenReviewStatus{Error: "no token authenticator"}
	}
	req := &http.Request{Header: http.Header{"Authorization": {"Bearer " + token}}}
	u, ok := s.authn.Authenticate(req)
	if !ok {
		return authenticationv1.TokenReviewStatus{Error: "invalid bearer token"}
	}
	return authenticationv1.TokenReviewStatus{Authenticated: true, User: userInfo(u)}
}

func validateAccessSpec(spec *authorizationv1.SubjectAccessReviewSpec, needSubject bool) error {
	var errs field.ErrorList
	p := field.NewPath("spec")
	switch {
	case spec.ResourceAttributes != nil && spec.NonResourceAttributes != nil:
		errs = append(errs, field.Invalid(p.Child("nonResourceAttributes"), spec.NonResourceAttributes, `cannot be specified in combination with resourceAttributes`))
	case spec.ResourceAttributes == nil && spec.NonResourceAttributes == nil:
		errs = append(errs, field.Required(p.Child("resourceAttributes"), "exactly one of nonResourceAttributes or resourceAttributes must be specified"))
	}
	if needSubject && spec.User == "" && len(spec.Groups) == 0 {
		errs = append(errs, field.Invalid(p.Child("user"), spec.User, `at least one of user or group must be specified`))
	}
	if len(errs) > 0 {
		return apierrors.NewInvalid(schemaGK(authorizationv1.GroupName, "SubjectAccessReview"), "", errs)
	}
	return nil
}

// accessReview asks the authorizer what it would answer spec's request.
func (s *Server) accessReview(rq *request, spec *authorizationv1.SubjectAccessReviewSpec) authorizationv1.SubjectAccessReviewStatus {
	u := &User{Name: spec.User, UID: spec.UID, Groups: spec.Groups}
	if len(spec.Extra) > 0 {
		u.Extra = map[string][]string{}
		for k, v := range spec.Extra {
			u.Extra[k] = v
		}
	}
	a := auth.Attributes{User: u}
	if ra := spec.ResourceAttributes; ra != nil {
		a.ResourceRequest = true
		a.Verb, a.APIGroup, a.APIVersion, a.Resource = ra.Verb, ra.Group, ra.Version, ra.Resource
		a.Subresource, a.Namespace, a.Name = ra.Subresource, ra.Namespace, ra.Name
		a.FieldSelector = reviewFieldSelector(ra.FieldSelector)
	} else {
		a.Verb, a.Path = spec.NonResourceAttributes.Verb, spec.NonResourceAttributes.Path
	}
	if s.authz == nil {
		return authorizationv1.SubjectAccessReviewStatus{Allowed: true}
	}
	d, reason, err := s.authz.Authorize(rq.ctx(), a)
	st := authorizationv1.SubjectAccessReviewStatus{Allowed: d == auth.Allow, Denied: d == auth.Deny, Reason: reason}
	if err != nil {
		st.EvaluationError = err.Error()
	}
	return st
}

// rulesReview lists what u may do in namespace (kubectl auth can-i --list).
func (s *Server) rulesReview(rq *request, u *User, namespace string) authorizationv1.SubjectRulesReviewStatus {
	if s.authz == nil {
		return authorizationv1.SubjectRulesReviewStatus{
			ResourceRules:    []authorizationv1.ResourceRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}},
			NonResourceRules: []authorizationv1.NonResourceRule{{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}}},
		}
	}
	if s.rules == nil {
		return authorizationv1.SubjectRulesReviewStatus{Incomplete: true, EvaluationError: "no rule resolver"}
	}
	res, non, incomplete, err := s.rules.RulesFor(rq.ctx(), u, namespace)
	st := authorizationv1.SubjectRulesReviewStatus{Incomplete: incomplete, ResourceRules: []authorizationv1.ResourceRule{}, NonResourceRules: []authorizationv1.NonResourceRule{}}
	if err != nil {
		st.EvaluationError = err.Error()
	}
	for _, r := range res {
		st.ResourceRules = append(st.ResourceRules, authorizationv1.ResourceRule{Verbs: r.Verbs, APIGroups: r.APIGroups, Resources: r.Resources, ResourceNames: r.ResourceNames})
	}
	for _, r := range non {
		st.NonResourceRules = append(st.NonResourceRules, authorizationv1.NonResourceRule{Verbs: r.Verbs, NonResourceURLs: r.NonResourceURLs})
	}
	return st
}
