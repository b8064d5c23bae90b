// Package mutatingadmissionpolicy serves admissionregistration.k8s.io/v1
// mutating admission policies (GA in 1.36, served by default in 1.37):
// CEL mutations, as apply configurations or JSON patches, that change
// the writes they match before validation (internal/admission/policy
// applies them).
package mutatingadmissionpolicy

import (
	"context"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/admissionregistration/validatingadmissionpolicy"
)

// Resource returns the mutatingadmissionpolicies resource.
func Resource() *registry.Resource {
	c := &validatingadmissionpolicy.Checker{}
	return &registry.Resource{
		GroupVersion:           admissionregistrationv1.SchemeGroupVersion,
		Resource:               "mutatingadmissionpolicies",
		Kind:                   "MutatingAdmissionPolicy",
		SingularName:           "mutatingadmissionpolicy",
		Categories:             []string{"api-extensions"},
		TracksGeneration:       true,
		RequireResourceVersion: true,
		New:                    func() runtime.Object { return &admissionregistrationv1.MutatingAdmissionPolicy{} },
		NewList:                func() runtime.Object { return &admissionregistrationv1.MutatingAdmissionPolicyList{} },
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) {
				Default(obj.(*admissionregistrationv1.MutatingAdmissionPolicy))
			},
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(c, obj.(*admissionregistrationv1.MutatingAdmissionPolicy))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(c, obj.(*admissionregistrationv1.MutatingAdmissionPolicy), old.(*admissionregistrationv1.MutatingAdmissionPolicy))
			},
		},
		Table: table(),
	}
}

// Default fills what upstream's defaulting does: failurePolicy Fail and
// the match constraints' defaults. reinvocationPolicy has none (it is
// required).
func Default(p *admissionregistrationv1.MutatingAdmissionPolicy) {
	if p.Spec.FailurePolicy == nil {
		fail := admissionregistrationv1.Fail
		p.Spec.FailurePolicy = &fail
	}
	validatingadmissionpolicy.DefaultMatchResources(p.Spec.MatchConstraints)
}
