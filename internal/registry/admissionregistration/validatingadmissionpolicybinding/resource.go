// Package validatingadmissionpolicybinding serves admissionregistration.k8s.io/v1
// validating admission policy bindings: which policy applies, to what
// (matchResources), with which params (paramRef) and with what effect
// (validationActions Deny, Warn, Audit).
package validatingadmissionpolicybinding

import (
	"context"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/admissionregistration/validatingadmissionpolicy"
)

// Resource returns the validatingadmissionpolicybindings resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion:           admissionregistrationv1.SchemeGroupVersion,
		Resource:               "validatingadmissionpolicybindings",
		Kind:                   "ValidatingAdmissionPolicyBinding",
		SingularName:           "validatingadmissionpolicybinding",
		Categories:             []string{"api-extensions"},
		TracksGeneration:       true,
		RequireResourceVersion: true,
		New:                    func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicyBinding{} },
		NewList:                func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicyBindingList{} },
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) {
				validatingadmissionpolicy.DefaultMatchResources(obj.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding).Spec.MatchResources)
			},
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding))
			},
			ValidateUpdate: func(_ context.Context, obj, _ runtime.Object) field.ErrorList {
				return Validate(obj.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding))
			},
		},
		Table: table(),
	}
}
