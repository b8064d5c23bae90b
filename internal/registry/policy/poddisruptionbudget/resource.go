// Package poddisruptionbudget serves policy/v1 pod disruption budgets.
package poddisruptionbudget

import (
	"context"

	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
)

// Resource returns the poddisruptionbudgets resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion:           schema.GroupVersion{Group: "policy", Version: "v1"},
		Resource:               "poddisruptionbudgets",
		Kind:                   "PodDisruptionBudget",
		RequireResourceVersion: true,
		SingularName:           "poddisruptionbudget",
		ShortNames:             []string{"pdb"},
		Namespaced:             true,
		New:                    func() runtime.Object { return &policyv1.PodDisruptionBudget{} },
		NewList:                func() runtime.Object { return &policyv1.PodDisruptionBudgetList{} },
		HasStatus:              true,
		TracksGeneration:       true,
		Hooks: registry.Hooks{
			PrepareForCreate: func(_ context.Context, obj runtime.Object) {
				stripV1beta1Label(obj.(*policyv1.PodDisruptionBudget), nil)
			},
			PrepareForUpdate: func(_ context.Context, obj, old runtime.Object) {
				stripV1beta1Label(obj.(*policyv1.PodDisruptionBudget), old.(*policyv1.PodDisruptionBudget))
			},
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*policyv1.PodDisruptionBudget))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*policyv1.PodDisruptionBudget), old.(*policyv1.PodDisruptionBudget))
			},
		},
		StatusHooks: registry.StatusHooks{
			Meta: registry.StatusMetaRequest,
			ValidateUpdate: func(_ context.Context, obj, _ runtime.Object) field.ErrorList {
				return ValidateStatus(&obj.(*policyv1.PodDisruptionBudget).Status, field.NewPath("status"))
			},
		},
		Table: table(),
	}
}
