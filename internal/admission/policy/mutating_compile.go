package policy

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/mutating/patch"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	"k8s.io/apiserver/pkg/cel/environment"
)

// mutator is a compiled mutating policy: its match conditions, one
// patcher per mutation in order, and the compiler that holds its
// variables (each evaluation needs a context from it).
type mutator struct {
	matcher  matchconditions.Matcher // nil without match conditions
	patchers []patch.Patcher
	comp     *plugincel.CompositedCompiler
	err      error // the CEL environment could not be built
}

// compileMutating compiles p as upstream's mutating plugin does: stored
// expressions (a policy in the store was checked when written), the
// patch types (Object, JSONPatch) declared for mutations. An expression
// that does not compile fails when evaluated, and failurePolicy decides.
func (c *compiler) compileMutating(p *admissionregistrationv1.MutatingAdmissionPolicy) *mutator {
	vars := plugincel.OptionalVariableDeclarations{HasParams: p.Spec.ParamKind != nil, HasAuthorizer: true}
	comp, err := plugincel.NewCompositedCompiler(c.envSet())
	if err != nil {
		return &mutator{err: err}
	}
	named := make([]plugincel.NamedExpressionAccessor, len(p.Spec.Variables))
	for i, v := range p.Spec.Variables {
		named[i] = &validating.Variable{Name: v.Name, Expression: v.Expression}
	}
	comp.CompileAndStoreVariables(named, vars, environment.StoredExpressions)

	m := &mutator{comp: comp}
	if mcs := p.Spec.MatchConditions; len(mcs) > 0 {
		accs := make([]plugincel.ExpressionAccessor, len(mcs))
		for i := range mcs {
			accs[i] = (*matchconditions.MatchCondition)(&mcs[i])
		}
		// Upstream names the policy type "validate" here too.
		m.matcher = matchconditions.NewMatcher(comp.CompileCondition(accs, vars, environment.StoredExpressions), p.Spec.FailurePolicy, "policy", "validate", p.Name)
	}
	patchVars := vars
	patchVars.HasPatchTypes = true
	for _, mu := range p.Spec.Mutations {
		var pt patch.Patcher
		switch {
		case mu.PatchType == admissionregistrationv1.PatchTypeJSONPatch && mu.JSONPatch != nil:
			pt = patch.NewJSONPatcher(comp.CompileMutatingEvaluator(&patch.JSONPatchCondition{Expression: mu.JSONPatch.Expression}, patchVars, environment.StoredExpressions))
		case mu.PatchType == admissionregistrationv1.PatchTypeApplyConfiguration && mu.ApplyConfiguration != nil:
			pt = patch.NewApplyConfigurationPatcher(comp.CompileMutatingEvaluator(&patch.ApplyConfigurationCondition{Expression: mu.ApplyConfiguration.Expression}, patchVars, environment.StoredExpressions))
		default:
			continue // validation refuses it; upstream skips it too
		}
		m.patchers = append(m.patchers, pt)
	}
	return m
}
