package mutatingadmissionpolicy

import (
	"fmt"
	"slices"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/validation/field"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/mutating/patch"

	"github.com/kemudi/kemudi/internal/registry/admissionregistration/validatingadmissionpolicy"
)

var (
	// MutatingOperations are the operations a mutating policy may match:
	// not DELETE.
	MutatingOperations   = []string{string(admissionregistrationv1.OperationAll), string(admissionregistrationv1.Connect), string(admissionregistrationv1.Create), string(admissionregistrationv1.Update)}
	reinvocationPolicies = []string{string(admissionregistrationv1.IfNeededReinvocationPolicy), string(admissionregistrationv1.NeverReinvocationPolicy)}
	patchTypes           = []string{string(admissionregistrationv1.PatchTypeApplyConfiguration), string(admissionregistrationv1.PatchTypeJSONPatch)}
)

// Validate checks a policy on create, as upstream: every expression
// compiles, in the environment for new expressions.
func Validate(c *validatingadmissionpolicy.Checker, p *admissionregistrationv1.MutatingAdmissionPolicy) field.ErrorList {
	errs := validate(c, p, nil, false)
	return append(errs, validatingadmissionpolicy.ValidateStaticSuffix(p.Name)...)
}

// ValidateUpdate checks an update: the old policy's mutation and match
// condition expressions compile in the stored environment, and match
// conditions are not compiled again when they and paramKind are
// unchanged.
func ValidateUpdate(c *validatingadmissionpolicy.Checker, p, old *admissionregistrationv1.MutatingAdmissionPolicy) field.ErrorList {
	stored := map[string]bool{}
	for _, mc := range old.Spec.MatchConditions {
		stored[mc.Expression] = true
	}
	for _, m := range old.Spec.Mutations {
		if m.ApplyConfiguration != nil {
			stored[m.ApplyConfiguration.Expression] = true
		}
		if m.JSONPatch != nil {
			stored[m.JSONPatch.Expression] = true
		}
	}
	skipMatch := equality.Semantic.DeepEqual(p.Spec.ParamKind, old.Spec.ParamKind) && equality.Semantic.DeepEqual(p.Spec.MatchConditions, old.Spec.MatchConditions)
	return validate(c, p, stored, skipMatch)
}

func validate(c *validatingadmissionpolicy.Checker, p *admissionregistrationv1.MutatingAdmissionPolicy, stored map[string]bool, skipMatchConditions bool) field.ErrorList {
	var errs field.ErrorList
	spec, path := &p.Spec, field.NewPath("spec")
	if spec.FailurePolicy == nil {
		errs = append(errs, field.Required(path.Child("failurePolicy"), ""))
	} else if fps := validatingadmissionpolicy.FailurePolicies(); !slices.Contains(fps, string(*spec.FailurePolicy)) {
		errs = append(errs, field.NotSupported(path.Child("failurePolicy"), *spec.FailurePolicy, fps))
	}
	hasParams := spec.ParamKind != nil
	if hasParams {
		errs = append(errs, validatingadmissionpolicy.ValidateParamKind(spec.ParamKind, path.Child("paramKind"))...)
	}
	if m := spec.MatchConstraints; m == nil {
		errs = append(errs, field.Required(path.Child("matchConstraints"), ""))
	} else {
		errs = append(errs, validatingadmissionpolicy.ValidateMatchResources(m, path.Child("matchConstraints"))...)
		// Type information comes from at least one resource rule.
		if len(m.ResourceRules) == 0 {
			errs = append(errs, field.Required(path.Child("matchConstraints", "resourceRules"), ""))
		}
		errs = append(errs, ValidateOperations(m, path.Child("matchConstraints", "resourceRules", "operations"))...)
	}
	if !skipMatchConditions {
		errs = append(errs, c.ValidateMatchConditions(spec.MatchConditions, hasParams, stored, path.Child("matchConditions"))...)
	}
	comp, err := c.Compiler()
	if err != nil {
		return append(errs, field.InternalError(path, fmt.Errorf("CEL environment: %w", err)))
	}
	for i := range spec.Variables {
		// Upstream compiles a mutating policy's variables as new
		// expressions, on update too.
		errs = append(errs, c.ValidateVariable(comp, &spec.Variables[i], hasParams, nil, path.Child("variables").Index(i))...)
	}
	if len(spec.Mutations) == 0 {
		errs = append(errs, field.Required(path.Child("mutations"), "mutations must contain at least one item"))
	}
	for i := range spec.Mutations {
		errs = append(errs, validateMutation(comp, &spec.Mutations[i], hasParams, stored, path.Child("mutations").Index(i))...)
	}
	if spec.ReinvocationPolicy == "" {
		errs = append(errs, field.Required(path.Child("reinvocationPolicy"), ""))
	} else if !slices.Contains(reinvocationPolicies, string(spec.ReinvocationPolicy)) {
		errs = append(errs, field.NotSupported(path.Child("reinvocationPolicy"), spec.ReinvocationPolicy, reinvocationPolicies))
	}
	return errs
}

// ValidateOperations refuses DELETE (and anything unknown) in the rules
// of a mutating policy or binding: only creates, updates and connects
// have an object to change.
func ValidateOperations(m *admissionregistrationv1.MatchResources, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, rule := range m.ResourceRules {
		for _, op := range rule.Operations {
			if !slices.Contains(MutatingOperations, string(op)) {
				errs = append(errs, field.NotSupported(path, op, MutatingOperations))
			}
		}
	}
	return errs
}

func validateMutation(comp plugincel.Compiler, m *admissionregistrationv1.Mutation, hasParams bool, stored map[string]bool, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch m.PatchType {
	case "":
		errs = append(errs, field.Required(path.Child("patchType"), ""))
	case admissionregistrationv1.PatchTypeJSONPatch:
		if m.JSONPatch == nil {
			errs = append(errs, field.Required(path.Child("jsonPatch"), "must be specified when patchType is JSONPatch"))
		} else {
			errs = append(errs, compileMutation(comp, &patch.JSONPatchCondition{Expression: strings.TrimSpace(m.JSONPatch.Expression)}, m.JSONPatch.Expression, hasParams, stored, path.Child("jsonPatch", "expression"))...)
		}
		if m.ApplyConfiguration != nil {
			errs = append(errs, field.Invalid(path.Child("applyConfiguration"), "{applyConfiguration}", "must not be specified when patchType is JSONPatch"))
		}
	case admissionregistrationv1.PatchTypeApplyConfiguration:
		if m.ApplyConfiguration == nil {
			errs = append(errs, field.Required(path.Child("applyConfiguration"), "must be specified when patchType is ApplyConfiguration"))
		} else {
			errs = append(errs, compileMutation(comp, &patch.ApplyConfigurationCondition{Expression: strings.TrimSpace(m.ApplyConfiguration.Expression)}, m.ApplyConfiguration.Expression, hasParams, stored, path.Child("applyConfiguration", "expression"))...)
		}
		if m.JSONPatch != nil {
			errs = append(errs, field.Invalid(path.Child("jsonPatch"), "{jsonPatch}", "must not be specified when patchType is ApplyConfiguration"))
		}
	default:
		errs = append(errs, field.NotSupported(path.Child("patchType"), m.PatchType, patchTypes))
	}
	return errs
}

// compileMutation compiles a mutation's expression with the patch types
// (Object, JSONPatch) declared, and checks its return type.
func compileMutation(comp plugincel.Compiler, acc plugincel.ExpressionAccessor, raw string, hasParams bool, stored map[string]bool, path *field.Path) field.ErrorList {
	if acc.GetExpression() == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	vars := plugincel.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: true, HasPatchTypes: true}
	res := comp.CompileCELExpression(acc, vars, validatingadmissionpolicy.EnvType(raw, stored))
	if res.Error != nil {
		return field.ErrorList{validatingadmissionpolicy.CELFieldError(path, acc.GetExpression(), res.Error)}
	}
	return nil
}
