package validatingadmissionpolicy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
)

// Upstream's limits.
const (
	maxMatchConditions                = 64
	maxAuditAnnotations               = 20
	maxAuditAnnotationValueExpression = 5 * 1024
	// StaticSuffix ends the names reserved for manifest-based admission
	// configuration (ManifestBasedAdmissionControlConfig, on by default
	// in 1.37): the API refuses them.
	StaticSuffix = ".static.k8s.io"
)

var (
	failurePolicies = []string{string(admissionregistrationv1.Fail), string(admissionregistrationv1.Ignore)}
	denyReasons     = []string{string(metav1.StatusReasonForbidden), string(metav1.StatusReasonInvalid), string(metav1.StatusReasonRequestEntityTooLarge)}
	celIdentifier   = regexp.MustCompile(`^[_a-zA-Z][_a-zA-Z0-9]*$`)
	celReserved     = []string{"true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function", "if", "import", "let", "loop", "package", "namespace", "return", "var", "void", "while"}
	newlines        = regexp.MustCompile(`[\n\r]+`)
)

// Validate checks a policy as upstream does on create: every CEL
// expression must compile (the compiler's message names the field).
func (c *Checker) Validate(p *admissionregistrationv1.ValidatingAdmissionPolicy) field.ErrorList {
	return c.validate(p, nil, false)
}

// ValidateUpdate checks an update: as a create, except that expressions
// the old policy had compile in the stored-expressions environment, and
// match conditions are not checked again when unchanged.
func (c *Checker) ValidateUpdate(p, old *admissionregistrationv1.ValidatingAdmissionPolicy) field.ErrorList {
	return c.validate(p, storedExpressions(old), slices.EqualFunc(p.Spec.MatchConditions, old.Spec.MatchConditions, func(a, b admissionregistrationv1.MatchCondition) bool { return a == b }))
}

func storedExpressions(p *admissionregistrationv1.ValidatingAdmissionPolicy) map[string]bool {
	s := map[string]bool{}
	for _, m := range p.Spec.MatchConditions {
		s[m.Expression] = true
	}
	for _, v := range p.Spec.Validations {
		s[v.Expression] = true
		s[v.MessageExpression] = true
	}
	for _, a := range p.Spec.AuditAnnotations {
		s[a.ValueExpression] = true
	}
	for _, v := range p.Spec.Variables {
		s[v.Expression] = true
	}
	return s
}

func (c *Checker) validate(p *admissionregistrationv1.ValidatingAdmissionPolicy, stored map[string]bool, skipMatchConditions bool) field.ErrorList {
	errs := validateStaticSuffix(p.Name)
	spec, path := &p.Spec, field.NewPath("spec")
	if spec.FailurePolicy == nil {
		errs = append(errs, field.Required(path.Child("failurePolicy"), ""))
	} else if !slices.Contains(failurePolicies, string(*spec.FailurePolicy)) {
		errs = append(errs, field.NotSupported(path.Child("failurePolicy"), *spec.FailurePolicy, failurePolicies))
	}
	hasParams := spec.ParamKind != nil
	if hasParams {
		errs = append(errs, validateParamKind(spec.ParamKind, path.Child("paramKind"))...)
	}
	if spec.MatchConstraints == nil {
		errs = append(errs, field.Required(path.Child("matchConstraints"), ""))
	} else {
		errs = append(errs, ValidateMatchResources(spec.MatchConstraints, path.Child("matchConstraints"))...)
		// Type checking needs at least one resource rule.
		if len(spec.MatchConstraints.ResourceRules) == 0 {
			errs = append(errs, field.Required(path.Child("matchConstraints", "resourceRules"), ""))
		}
	}
	if !skipMatchConditions {
		errs = append(errs, c.validateMatchConditions(spec.MatchConditions, hasParams, stored, path.Child("matchConditions"))...)
	}
	comp, err := c.compiler()
	if err != nil {
		return append(errs, field.InternalError(path, fmt.Errorf("CEL environment: %w", err)))
	}
	for i, v := range spec.Variables {
		errs = append(errs, c.validateVariable(comp, &v, hasParams, stored, path.Child("variables").Index(i))...)
	}
	if len(spec.Validations) == 0 && len(spec.AuditAnnotations) == 0 {
		const msg = "validations or auditAnnotations must contain at least one item"
		return append(errs, field.Required(path.Child("validations"), msg), field.Required(path.Child("auditAnnotations"), msg))
	}
	for i, v := range spec.Validations {
		errs = append(errs, c.validateValidation(comp, &v, hasParams, stored, path.Child("validations").Index(i))...)
	}
	if len(spec.AuditAnnotations) > maxAuditAnnotations {
		errs = append(errs, field.Invalid(path.Child("auditAnnotations"), spec.AuditAnnotations, fmt.Sprintf("must not have more than %d auditAnnotations", maxAuditAnnotations)))
	}
	keys := map[string]bool{}
	for i, a := range spec.AuditAnnotations {
		ap := path.Child("auditAnnotations").Index(i)
		errs = append(errs, c.validateAuditAnnotation(comp, p.Name, &a, hasParams, stored, ap)...)
		if keys[a.Key] {
			errs = append(errs, field.Duplicate(ap.Child("key"), a.Key))
		}
		keys[a.Key] = true
	}
	return errs
}

func validateStaticSuffix(name string) field.ErrorList {
	if strings.HasSuffix(name, StaticSuffix) {
		return field.ErrorList{field.Invalid(field.NewPath("metadata", "name"), name,
			fmt.Sprintf("names ending with %q are reserved for static manifest-based configurations and cannot be managed via the API", StaticSuffix))}
	}
	return nil
}

// ValidateStaticSuffix refuses a name ending in StaticSuffix, for
// bindings as for policies.
func ValidateStaticSuffix(name string) field.ErrorList { return validateStaticSuffix(name) }

func validateParamKind(k *admissionregistrationv1.ParamKind, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch group, version, n := splitGroupVersion(k.APIVersion); {
	case k.APIVersion == "":
		errs = append(errs, field.Required(path.Child("apiVersion"), ""))
	case n > 1:
		errs = append(errs, field.Invalid(path.Child("apiVersion"), k.APIVersion, fmt.Sprintf("unexpected GroupVersion string: %v", k.APIVersion)))
	default:
		if group != "" {
			if msgs := utilvalidation.IsDNS1123Subdomain(group); len(msgs) > 0 {
				errs = append(errs, field.Invalid(path.Child("apiVersion"), group, strings.Join(msgs, ",")))
			}
		}
		if version == "" {
			errs = append(errs, field.Invalid(path.Child("apiVersion"), k.APIVersion, "version must be specified"))
		} else if msgs := utilvalidation.IsDNS1035Label(version); len(msgs) > 0 {
			errs = append(errs, field.Invalid(path.Child("apiVersion"), version, strings.Join(msgs, ",")))
		}
	}
	if k.Kind == "" {
		errs = append(errs, field.Required(path.Child("kind"), ""))
	} else if msgs := utilvalidation.IsDNS1035Label(strings.ToLower(k.Kind)); len(msgs) > 0 {
		errs = append(errs, field.Invalid(path.Child("kind"), k.Kind, "may have mixed case, but should otherwise match: "+strings.Join(msgs, ",")))
	}
	return errs
}

// splitGroupVersion splits "group/version" (or "version"); n is the
// number of slashes.
func splitGroupVersion(gv string) (group, version string, n int) {
	n = strings.Count(gv, "/")
	if n == 0 {
		return "", gv, 0
	}
	group, version, _ = strings.Cut(gv, "/")
	return group, version, n
}

func (c *Checker) validateMatchConditions(ms []admissionregistrationv1.MatchCondition, hasParams bool, stored map[string]bool, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(ms) > maxMatchConditions {
		errs = append(errs, field.TooMany(path, len(ms), maxMatchConditions))
	}
	names := map[string]bool{}
	for i, m := range ms {
		mp := path.Index(i)
		if expr := strings.TrimSpace(m.Expression); expr == "" {
			errs = append(errs, field.Required(mp.Child("expression"), ""))
		} else {
			errs = append(errs, c.checkMatchCondition(expr, hasParams, stored, mp.Child("expression"))...)
		}
		if m.Name == "" {
			errs = append(errs, field.Required(mp.Child("name"), ""))
		} else {
			for _, msg := range utilvalidation.IsQualifiedName(m.Name) {
				errs = append(errs, field.Invalid(mp.Child("name"), m.Name, msg))
			}
			if names[m.Name] {
				errs = append(errs, field.Duplicate(mp.Child("name"), m.Name))
			}
			names[m.Name] = true
		}
	}
	return errs
}

func (c *Checker) validateVariable(comp *plugincel.CompositedCompiler, v *admissionregistrationv1.Variable, hasParams bool, stored map[string]bool, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if strings.TrimSpace(v.Name) == "" {
		errs = append(errs, field.Required(path.Child("name"), "name is not specified"))
	} else if !celIdentifier.MatchString(v.Name) || slices.Contains(celReserved, v.Name) {
		errs = append(errs, field.Invalid(path.Child("name"), v.Name, "must be a valid CEL identifier"))
	}
	if strings.TrimSpace(v.Expression) == "" {
		return append(errs, field.Required(path.Child("expression"), "expression is not specified"))
	}
	return append(errs, c.checkVariable(comp, v.Name, v.Expression, hasParams, stored, path.Child("expression"))...)
}

func (c *Checker) validateValidation(comp *plugincel.CompositedCompiler, v *admissionregistrationv1.Validation, hasParams bool, stored map[string]bool, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if strings.TrimSpace(v.Expression) == "" {
		errs = append(errs, field.Required(path.Child("expression"), "expression is not specified"))
	} else {
		errs = append(errs, c.checkCondition(comp, &validating.ValidationCondition{Expression: v.Expression},
			plugincel.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: true}, stored, path.Child("expression"))...)
	}
	if v.MessageExpression != "" && strings.TrimSpace(v.MessageExpression) == "" {
		errs = append(errs, field.Invalid(path.Child("messageExpression"), v.MessageExpression, "must be non-empty if specified"))
	} else if v.MessageExpression != "" {
		// Upstream declares params for message expressions only when the
		// policy has a paramKind, and never the authorizer.
		errs = append(errs, c.checkCondition(comp, &validating.MessageExpressionCondition{MessageExpression: v.MessageExpression},
			plugincel.OptionalVariableDeclarations{HasParams: hasParams}, stored, path.Child("messageExpression"))...)
	}
	msg := strings.TrimSpace(v.Message)
	if v.Message != "" && msg == "" {
		errs = append(errs, field.Invalid(path.Child("message"), v.Message, "must be non-empty if specified"))
	} else if newlines.MatchString(msg) {
		errs = append(errs, field.Invalid(path.Child("message"), v.Message, "must not contain line breaks"))
	}
	if v.Reason != nil && !slices.Contains(denyReasons, string(*v.Reason)) {
		errs = append(errs, field.NotSupported(path.Child("reason"), *v.Reason, denyReasons))
	}
	return errs
}

func (c *Checker) validateAuditAnnotation(comp *plugincel.CompositedCompiler, policyName string, a *admissionregistrationv1.AuditAnnotation, hasParams bool, stored map[string]bool, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if policyName == "" {
		errs = append(errs, field.Invalid(path.Child("key"), a.Key, "requires metadata.name be non-empty"))
	} else {
		key := policyName + "/" + a.Key
		for _, msg := range utilvalidation.IsQualifiedName(key) {
			errs = append(errs, field.Invalid(path.Child("key"), key, msg))
		}
	}
	expr := strings.TrimSpace(a.ValueExpression)
	switch {
	case expr == "":
		errs = append(errs, field.Required(path.Child("valueExpression"), "valueExpression is not specified"))
	case len(expr) > maxAuditAnnotationValueExpression:
		errs = append(errs, field.Required(path.Child("valueExpression"), fmt.Sprintf("must not exceed %d bytes in length", maxAuditAnnotationValueExpression)))
	default:
		acc := &validating.AuditAnnotationCondition{Key: a.Key, ValueExpression: expr}
		res := comp.CompileCELExpression(acc, plugincel.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: true}, envType(a.ValueExpression, stored))
		if res.Error != nil {
			errs = append(errs, celFieldError(path.Child("valueExpression"), a.ValueExpression, res.Error))
		}
	}
	return errs
}

// ValidateStatus checks a status update (the type checking warnings and
// conditions a controller writes).
func ValidateStatus(s *admissionregistrationv1.ValidatingAdmissionPolicyStatus) field.ErrorList {
	path := field.NewPath("status")
	var errs field.ErrorList
	if tc := s.TypeChecking; tc != nil {
		for i, w := range tc.ExpressionWarnings {
			wp := path.Child("typeChecking", "expressionWarnings").Index(i)
			if w.FieldRef == "" {
				errs = append(errs, field.Required(wp.Child("fieldRef"), ""))
			}
			if w.Warning == "" {
				errs = append(errs, field.Required(wp.Child("warning"), ""))
			}
		}
	}
	return append(errs, metav1validation.ValidateConditions(s.Conditions, path.Child("conditions"))...)
}
