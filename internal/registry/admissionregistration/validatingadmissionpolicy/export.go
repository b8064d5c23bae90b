package validatingadmissionpolicy

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/cel/environment"
)

// What follows lets mutating admission policies, which share most of a
// validating policy's fields, be checked the same way.

// Compiler returns a fresh compiler that stores variables as they
// compile, in c's environment.
func (c *Checker) Compiler() (*plugincel.CompositedCompiler, error) { return c.compiler() }

// ValidateMatchConditions checks match conditions: names, count, and
// that each expression compiles (stored ones in the stored environment).
func (c *Checker) ValidateMatchConditions(ms []admissionregistrationv1.MatchCondition, hasParams bool, stored map[string]bool, path *field.Path) field.ErrorList {
	return c.validateMatchConditions(ms, hasParams, stored, path)
}

// ValidateVariable checks a variable's name and compiles its expression
// into comp, for later expressions to use.
func (c *Checker) ValidateVariable(comp *plugincel.CompositedCompiler, v *admissionregistrationv1.Variable, hasParams bool, stored map[string]bool, path *field.Path) field.ErrorList {
	return c.validateVariable(comp, v, hasParams, stored, path)
}

// ValidateParamKind checks a policy's paramKind.
func ValidateParamKind(k *admissionregistrationv1.ParamKind, path *field.Path) field.ErrorList {
	return validateParamKind(k, path)
}

// CELFieldError is the field error upstream reports for a CEL compile
// error of expr at path.
func CELFieldError(path *field.Path, expr string, err error) *field.Error {
	return celFieldError(path, expr, err)
}

// EnvType is the environment expr compiles in: stored expressions (kept
// from the old object by an update) in the stored one.
func EnvType(expr string, stored map[string]bool) environment.Type { return envType(expr, stored) }

// FailurePolicies are the allowed failure policies.
func FailurePolicies() []string { return failurePolicies }
