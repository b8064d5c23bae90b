// Package mutatingadmissionpolicybinding serves admissionregistration.k8s.io/v1
// mutating admission policy bindings: which mutating policy applies, to
// what (matchResources) and with which params (paramRef).
package mutatingadmissionpolicybinding

import (
	"context"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/admissionregistration/mutatingadmissionpolicy"
	"github.com/kemudi/kemudi/internal/registry/admissionregistration/validatingadmissionpolicy"
	"github.com/kemudi/kemudi/internal/registry/admissionregistration/validatingadmissionpolicybinding"
	"github.com/kemudi/kemudi/internal/registry/printers"
)

// Resource returns the mutatingadmissionpolicybindings resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion:           admissionregistrationv1.SchemeGroupVersion,
		Resource:               "mutatingadmissionpolicybindings",
		Kind:                   "MutatingAdmissionPolicyBinding",
		SingularName:           "mutatingadmissionpolicybinding",
		Categories:             []string{"api-extensions"},
		TracksGeneration:       true,
		RequireResourceVersion: true,
		New:                    func() runtime.Object { return &admissionregistrationv1.MutatingAdmissionPolicyBinding{} },
		NewList:                func() runtime.Object { return &admissionregistrationv1.MutatingAdmissionPolicyBindingList{} },
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) {
				validatingadmissionpolicy.DefaultMatchResources(obj.(*admissionregistrationv1.MutatingAdmissionPolicyBinding).Spec.MatchResources)
			},
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				b := obj.(*admissionregistrationv1.MutatingAdmissionPolicyBinding)
				return append(Validate(b), validatingadmissionpolicy.ValidateStaticSuffix(b.Name)...)
			},
			ValidateUpdate: func(_ context.Context, obj, _ runtime.Object) field.ErrorList {
				return Validate(obj.(*admissionregistrationv1.MutatingAdmissionPolicyBinding))
			},
		},
		Table: table(),
	}
}

// Validate checks a binding, as upstream: a policy name, its paramRef,
// its matchResources, which may not match DELETE.
func Validate(b *admissionregistrationv1.MutatingAdmissionPolicyBinding) field.ErrorList {
	var errs field.ErrorList
	path := field.NewPath("spec")
	if b.Spec.PolicyName == "" {
		errs = append(errs, field.Required(path.Child("policyName"), ""))
	} else {
		for _, msg := range apivalidation.NameIsDNSSubdomain(b.Spec.PolicyName, false) {
			errs = append(errs, field.Invalid(path.Child("policyName"), b.Spec.PolicyName, msg))
		}
	}
	errs = append(errs, validatingadmissionpolicybinding.ValidateParamRef(b.Spec.ParamRef, path.Child("paramRef"))...)
	errs = append(errs, validatingadmissionpolicy.ValidateMatchResources(b.Spec.MatchResources, path.Child("matchResources"))...)
	if m := b.Spec.MatchResources; m != nil {
		errs = append(errs, mutatingadmissionpolicy.ValidateOperations(m, path.Child("matchResources", "resourceRules", "operations"))...)
	}
	return errs
}

// table prints NAME POLICYNAME PARAMREF AGE, as upstream's printer.
func table() *registry.Table {
	return &registry.Table{
		Columns: []metav1.TableColumnDefinition{
			printers.NameColumn,
			{Name: "PolicyName", Type: "string", Description: "PolicyName indicates the policy definition which the policy binding binded to"},
			{Name: "ParamRef", Type: "string", Description: "ParamRef indicates the param resource which sets the configuration param"},
			printers.AgeColumn,
		},
		Row: func(obj runtime.Object) ([]interface{}, error) {
			b := obj.(*admissionregistrationv1.MutatingAdmissionPolicyBinding)
			return []interface{}{b.Name, b.Spec.PolicyName, validatingadmissionpolicybinding.ParamRefCell(b.Spec.ParamRef), printers.Age(b.CreationTimestamp)}, nil
		},
	}
}
