package webhook

import (
	"context"
	"sync"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apiserver/pkg/admission"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/cel/environment"

	"github.com/kemudi/kemudi/internal/auth"
)

// conditionCompiler compiles match conditions with upstream's CEL
// environment (built on first use: it takes a while).
type conditionCompiler struct {
	once     sync.Once
	compiler plugincel.ConditionCompiler
}

func newConditionCompiler() *conditionCompiler { return &conditionCompiler{} }

func (c *conditionCompiler) matcher(w admissionv1.ValidatingWebhook, kind string) matchconditions.Matcher {
	c.once.Do(func() {
		c.compiler = plugincel.NewConditionCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()))
	})
	exprs := make([]plugincel.ExpressionAccessor, len(w.MatchConditions))
	for i, mc := range w.MatchConditions {
		exprs[i] = &matchconditions.MatchCondition{Name: mc.Name, Expression: mc.Expression}
	}
	eval := c.compiler.CompileCondition(exprs, plugincel.OptionalVariableDeclarations{HasAuthorizer: true}, environment.StoredExpressions)
	return matchconditions.NewMatcher(eval, w.FailurePolicy, "webhook", kind, w.Name)
}

// versionedAttributes is a request as upstream's CEL helpers read it.
func versionedAttributes(r *auth.AdmissionRequest) *admission.VersionedAttributes {
	gvr := r.Kind.GroupVersion().WithResource(r.Resource)
	gvr.Group, gvr.Version = r.APIGroup, r.Version
	attrs := admission.NewAttributesRecord(r.Object, r.Old, r.Kind, requestNamespace(r), r.Name, gvr, r.Subresource,
		admission.Operation(r.Operation), r.Options, r.DryRun, userInfo(r.User))
	return &admission.VersionedAttributes{Attributes: attrs, VersionedKind: r.Kind, VersionedObject: admission.NewLazyObject(r.Object), VersionedOldObject: admission.NewLazyObject(r.Old)}
}

func userInfo(u *auth.User) user.Info {
	if u == nil {
		return &user.DefaultInfo{}
	}
	return &user.DefaultInfo{Name: u.Name, UID: u.UID, Groups: u.Groups, Extra: u.Extra}
}

// celAuthorizer lets the CEL `authorizer` variable ask our authorizer.
type celAuthorizer struct{ z auth.Authorizer }

// Authorize implements upstream's authorizer.Authorizer.
func (c celAuthorizer) Authorize(ctx context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	var u *auth.User
	if info := a.GetUser(); info != nil {
		u = &auth.User{Name: info.GetName(), UID: info.GetUID(), Groups: info.GetGroups(), Extra: info.GetExtra()}
	}
	d, reason, err := c.z.Authorize(ctx, auth.Attributes{
		User: u, Verb: a.GetVerb(), ResourceRequest: a.IsResourceRequest(),
		APIGroup: a.GetAPIGroup(), APIVersion: a.GetAPIVersion(), Resource: a.GetResource(),
		Subresource: a.GetSubresource(), Namespace: a.GetNamespace(), Name: a.GetName(), Path: a.GetPath(),
	})
	switch d {
	case auth.Allow:
		return authorizer.DecisionAllow, reason, err
	case auth.Deny:
		return authorizer.DecisionDeny, reason, err
	}
	return authorizer.DecisionNoOpinion, reason, err
}
