// Package namespace serves core/v1 namespaces: cluster-scoped, named by a
// DNS label, Active from creation and Terminating once deleted, with the
// spec.finalizers that only the finalize subresource may change.
package namespace

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
)

// Resource returns the namespaces resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion:        schema.GroupVersion{Version: "v1"},
		Resource:            "namespaces",
		Kind:                "Namespace",
		ReturnDeletedObject: true,
		SingularName:        "namespace",
		ShortNames:          []string{"ns"},
		Namespaced:          false,
		New:                 func() runtime.Object { return &corev1.Namespace{} },
		NewList:             func() runtime.Object { return &corev1.NamespaceList{} },
		NameValidation:      apimachineryvalidation.ValidateNamespaceName,
		HasStatus:           true,
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) { Default(obj.(*corev1.Namespace)) },
			PrepareForCreate: func(_ context.Context, obj runtime.Object) {
				PrepareForCreate(obj.(*corev1.Namespace))
			},
			PrepareForUpdate: func(_ context.Context, obj, old runtime.Object) {
				PrepareForUpdate(obj.(*corev1.Namespace), old.(*corev1.Namespace))
			},
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*corev1.Namespace))
			},
			ValidateUpdate: func(_ context.Context, obj, _ runtime.Object) field.ErrorList {
				return Validate(obj.(*corev1.Namespace))
			},
		},
		StatusHooks: registry.StatusHooks{
			Meta: registry.StatusMetaRequest,
			ValidateUpdate: func(_ context.Context, obj, _ runtime.Object) field.ErrorList {
				return ValidateStatus(obj.(*corev1.Namespace))
			},
		},
		Table: table(),
		SelectableFields: func(obj runtime.Object) fields.Set {
			return selectableFields(obj.(*corev1.Namespace))
		},
		Actions: map[string]*registry.Action{"finalize": finalizeAction()},
		// Deleting a namespace first moves it to Terminating; it leaves
		// storage once the namespace controller has emptied it and
		// removed its spec finalizers (through finalize).
		Deletion: &registry.Deletion{
			Check: func(obj runtime.Object) error { return checkDeletable(obj.(*corev1.Namespace)) },
			Begin: func(obj runtime.Object) { MarkTerminating(obj.(*corev1.Namespace)) },
			Pending: func(obj runtime.Object) bool {
				return len(obj.(*corev1.Namespace).Spec.Finalizers) > 0
			},
		},
	}
}
