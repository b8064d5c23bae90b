package policy

import (
	"sync"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	"k8s.io/apiserver/pkg/cel/environment"
)

// compiler turns policies into upstream's validators. The CEL
// environment is built once, on first use (it takes tens of ms).
type compiler struct {
	once sync.Once
	env  *environment.EnvSet
}

func (c *compiler) envSet() *environment.EnvSet {
	c.once.Do(func() {
		c.env = environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion())
	})
	return c.env
}

// compile returns the validator of p, as upstream's plugin builds it:
// variables stored for composition, match conditions, validations,
// audit annotations and message expressions. A policy that does not
// compile gives a validator whose CompileError says why (and whose
// decisions follow the failure policy).
func (c *compiler) compile(p *admissionregistrationv1.ValidatingAdmissionPolicy) validating.Validator {
	hasParams := p.Spec.ParamKind != nil
	vars := plugincel.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: true}
	msgVars := plugincel.OptionalVariableDeclarations{HasParams: hasParams}
	fp := p.Spec.FailurePolicy
	comp, err := plugincel.NewCompositedCompiler(c.envSet())
	if err != nil {
		return validating.NewValidator(nil, nil, nil, nil, fp, err)
	}
	named := make([]plugincel.NamedExpressionAccessor, len(p.Spec.Variables))
	for i, v := range p.Spec.Variables {
		named[i] = &validating.Variable{Name: v.Name, Expression: v.Expression}
	}
	comp.CompileAndStoreVariables(named, vars, environment.StoredExpressions)

	var matcher matchconditions.Matcher
	if mcs := p.Spec.MatchConditions; len(mcs) > 0 {
		accs := make([]plugincel.ExpressionAccessor, len(mcs))
		for i := range mcs {
			accs[i] = (*matchconditions.MatchCondition)(&mcs[i])
		}
		matcher = matchconditions.NewMatcher(comp.CompileCondition(accs, vars, environment.StoredExpressions), fp, "policy", "validate", p.Name)
	}
	validations := make([]plugincel.ExpressionAccessor, len(p.Spec.Validations))
	messages := make([]plugincel.ExpressionAccessor, len(p.Spec.Validations))
	for i, v := range p.Spec.Validations {
		validations[i] = &validating.ValidationCondition{Expression: v.Expression, Message: v.Message, Reason: v.Reason}
		if v.MessageExpression != "" {
			messages[i] = &validating.MessageExpressionCondition{MessageExpression: v.MessageExpression}
		}
	}
	audits := make([]plugincel.ExpressionAccessor, len(p.Spec.AuditAnnotations))
	for i, a := range p.Spec.AuditAnnotations {
		audits[i] = &validating.AuditAnnotationCondition{Key: a.Key, ValueExpression: a.ValueExpression}
	}
	return validating.NewValidator(
		comp.CompileCondition(validations, vars, environment.StoredExpressions),
		matcher,
		comp.CompileCondition(audits, vars, environment.StoredExpressions),
		comp.CompileCondition(messages, msgVars, environment.StoredExpressions),
		fp,
		nil,
	)
}
