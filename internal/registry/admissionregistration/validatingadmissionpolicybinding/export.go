package validatingadmissionpolicybinding

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ValidateParamRef checks a binding's paramRef (mutating policy bindings
// share it).
func ValidateParamRef(pr *admissionregistrationv1.ParamRef, path *field.Path) field.ErrorList {
	return validateParamRef(pr, path)
}

// ParamRefCell is the PARAMREF column of a binding's table row.
func ParamRefCell(pr *admissionregistrationv1.ParamRef) string { return paramRefCell(pr) }
