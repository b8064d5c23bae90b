package webhook

import (
	"sync"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apiserver/pkg/admission"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
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
		admission.Operation(r.Operation), r.Options, r.DryRun, auth.UpstreamUser(r.User))
	return &admission.VersionedAttributes{Attributes: attrs, VersionedKind: r.Kind, VersionedObject: admission.NewLazyObject(r.Object), VersionedOldObject: admission.NewLazyObject(r.Old)}
}
