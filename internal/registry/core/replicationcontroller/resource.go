// Package replicationcontroller serves core/v1 replication controllers:
// a replica count, an equality selector and a pod template, scaled through
// the /scale subresource.
package replicationcontroller

import (
	"context"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
)

// Resource returns the replicationcontrollers resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion:     schema.GroupVersion{Version: "v1"},
		Resource:         "replicationcontrollers",
		Kind:             "ReplicationController",
		OrphanByDefault:  true, // upstream keeps core/v1's old default: a delete without a policy orphans the pods
		SingularName:     "replicationcontroller",
		ShortNames:       []string{"rc"},
		Categories:       []string{"all"},
		Namespaced:       true,
		New:              func() runtime.Object { return &corev1.ReplicationController{} },
		NewList:          func() runtime.Object { return &corev1.ReplicationControllerList{} },
		HasStatus:        true,
		TracksGeneration: true,
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) { Default(obj.(*corev1.ReplicationController)) },
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*corev1.ReplicationController))
			},
			ValidateUpdate: func(_ context.Context, obj, _ runtime.Object) field.ErrorList {
				return Validate(obj.(*corev1.ReplicationController))
			},
			Warnings: func(_ context.Context, obj, old runtime.Object) []string {
				// A create has no old object (nil, or a nil pointer).
				if o, _ := old.(*corev1.ReplicationController); o != nil {
					return nil
				}
				return Warnings(obj.(*corev1.ReplicationController))
			},
		},
		StatusHooks: registry.StatusHooks{
			Meta: registry.StatusMetaRequest,
			ValidateUpdate: func(_ context.Context, obj, _ runtime.Object) field.ErrorList {
				return ValidateStatus(&obj.(*corev1.ReplicationController).Status, field.NewPath("status"))
			},
		},
		Table: table(),
		SelectableFields: func(obj runtime.Object) fields.Set {
			return fields.Set{"status.replicas": strconv.Itoa(int(obj.(*corev1.ReplicationController).Status.Replicas))}
		},
		Scale: &registry.Scale{
			Get: func(obj runtime.Object) (int32, int32, string) {
				rc := obj.(*corev1.ReplicationController)
				var spec int32
				if rc.Spec.Replicas != nil {
					spec = *rc.Spec.Replicas
				}
				return spec, rc.Status.Replicas, labels.SelectorFromSet(rc.Spec.Selector).String()
			},
			Set: func(obj runtime.Object, replicas int32) {
				rc := obj.(*corev1.ReplicationController)
				rc.Spec.Replicas = &replicas
			},
		},
	}
}
