package ingressclass

import (
	networkingv1 "k8s.io/api/networking/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry/networking/ingress"
)

const maxControllerLength = 250

// Validate checks an ingress class: a controller named like
// "example.com/ingress-controller" and a well-formed parameters
// reference.
func Validate(ic *networkingv1.IngressClass) field.ErrorList {
	var errs field.ErrorList
	path := field.NewPath("spec")
	if len(ic.Spec.Controller) > maxControllerLength {
		errs = append(errs, field.TooLong(path.Child("controller"), "", maxControllerLength))
	}
	errs = append(errs, validation.IsDomainPrefixedPath(path.Child("controller"), ic.Spec.Controller)...)
	errs = append(errs, validateParameters(ic.Spec.Parameters, path.Child("parameters"))...)
	return errs
}

// ValidateUpdate checks an update: the controller is immutable.
func ValidateUpdate(ic, old *networkingv1.IngressClass) field.ErrorList {
	errs := apivalidation.ValidateImmutableField(ic.Spec.Controller, old.Spec.Controller, field.NewPath("spec", "controller"))
	return append(errs, Validate(ic)...)
}

// validateParameters: a reference with a scope; a Namespace-scoped one
// names its namespace, a Cluster-scoped one must not.
func validateParameters(p *networkingv1.IngressClassParametersReference, path *field.Path) field.ErrorList {
	if p == nil {
		return nil
	}
	errs := ingress.ValidateTypedReference(p.APIGroup, p.Kind, p.Name, path)
	if p.Scope == nil {
		return append(errs, field.Required(path.Child("scope"), ""))
	}
	switch *p.Scope {
	case networkingv1.IngressClassParametersReferenceScopeNamespace:
		if p.Namespace == nil {
			errs = append(errs, field.Required(path.Child("namespace"), "`parameters.scope` is set to 'Namespace'"))
		} else {
			for _, msg := range apivalidation.NameIsDNSLabel(*p.Namespace, false) {
				errs = append(errs, field.Invalid(path.Child("namespace"), *p.Namespace, msg))
			}
		}
	case networkingv1.IngressClassParametersReferenceScopeCluster:
		if p.Namespace != nil {
			errs = append(errs, field.Forbidden(path.Child("namespace"), "`parameters.scope` is set to 'Cluster'"))
		}
	default:
		errs = append(errs, field.NotSupported(path.Child("scope"), *p.Scope, []string{
			networkingv1.IngressClassParametersReferenceScopeCluster,
			networkingv1.IngressClassParametersReferenceScopeNamespace,
		}))
	}
	return errs
}
