package workload

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ValidateRequiredSelector checks the selector of a controller that must
// have one: present, well formed (label values included) and not empty.
// kind names the controller in the empty-selector message, as upstream
// does ("empty selector is invalid for deployment").
func ValidateRequiredSelector(sel *metav1.LabelSelector, kind string, fldPath *field.Path) field.ErrorList {
	if sel == nil {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	errs := metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, fldPath)
	if len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
		errs = append(errs, field.Invalid(fldPath, sel, fmt.Sprintf("empty selector is invalid for %s", kind)))
	}
	return errs
}

// SelectorString is the selector in the string form of Scale's
// status.selector and of `kubectl get -o wide`: "" when nil or empty,
// "<invalid>" when it does not parse.
func SelectorString(sel *metav1.LabelSelector) string {
	selector, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return "<invalid>"
	}
	return selector.String()
}
