// Package service serves core/v1 services: their defaults, the cluster IP
// and IP family bookkeeping upstream does before validation, validation,
// and the table. Allocating cluster IPs and node ports needs storage and
// is the API server's job; alloc.go gives it what to allocate.
package service

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

// Resource returns the services resource. Names are DNS labels: 1.37
// relaxed the older DNS-1035 rule (RelaxedServiceNameValidation, GA), so
// names may start with a digit.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion:        schema.GroupVersion{Version: "v1"},
		Resource:            "services",
		Kind:                "Service",
		ReturnDeletedObject: true,
		SingularName:        "service",
		ShortNames:          []string{"svc"},
		Categories:          []string{"all"},
		Namespaced:          true,
		New:                 func() runtime.Object { return &corev1.Service{} },
		NewList:             func() runtime.Object { return &corev1.ServiceList{} },
		NameValidation:      apimachineryvalidation.NameIsDNSLabel,
		HasStatus:           true,
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) { Default(obj.(*corev1.Service)) },
			PrepareForCreate: func(_ context.Context, obj runtime.Object) {
				PrepareForCreate(obj.(*corev1.Service))
			},
			PrepareForUpdate: func(_ context.Context, obj, old runtime.Object) {
				PrepareForUpdate(obj.(*corev1.Service), old.(*corev1.Service))
			},
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*corev1.Service))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*corev1.Service), old.(*corev1.Service))
			},
			Warnings: func(_ context.Context, obj, _ runtime.Object) []string {
				return Warnings(obj.(*corev1.Service))
			},
		},
		StatusHooks: registry.StatusHooks{
			Meta: registry.StatusMetaRequest,
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateStatus(obj.(*corev1.Service), old.(*corev1.Service))
			},
		},
		Table: table(),
		SelectableFields: func(obj runtime.Object) fields.Set {
			svc := obj.(*corev1.Service)
			return fields.Set{"spec.clusterIP": svc.Spec.ClusterIP, "spec.type": string(svc.Spec.Type)}
		},
	}
}
