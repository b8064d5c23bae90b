// Package validatingadmissionpolicy serves admissionregistration.k8s.io/v1
// validating admission policies: CEL rules that every write they match
// must pass (internal/admission/policy obeys them), with the status a
// controller writes (type checking warnings).
package validatingadmissionpolicy

import (
	"context"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
)

// Resource returns the validatingadmissionpolicies resource.
func Resource() *registry.Resource {
	c := &Checker{}
	return &registry.Resource{
		GroupVersion:           admissionregistrationv1.SchemeGroupVersion,
		Resource:               "validatingadmissionpolicies",
		Kind:                   "ValidatingAdmissionPolicy",
		SingularName:           "validatingadmissionpolicy",
		Categories:             []string{"api-extensions"},
		HasStatus:              true,
		TracksGeneration:       true,
		RequireResourceVersion: true,
		New:                    func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicy{} },
		NewList:                func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicyList{} },
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) {
				Default(obj.(*admissionregistrationv1.ValidatingAdmissionPolicy))
			},
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return c.Validate(obj.(*admissionregistrationv1.ValidatingAdmissionPolicy))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return c.ValidateUpdate(obj.(*admissionregistrationv1.ValidatingAdmissionPolicy), old.(*admissionregistrationv1.ValidatingAdmissionPolicy))
			},
		},
		StatusHooks: registry.StatusHooks{
			ValidateUpdate: func(_ context.Context, obj, _ runtime.Object) field.ErrorList {
				return ValidateStatus(&obj.(*admissionregistrationv1.ValidatingAdmissionPolicy).Status)
			},
		},
		Table: table(),
	}
}
