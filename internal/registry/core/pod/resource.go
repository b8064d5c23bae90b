// Package pod serves core/v1 pods: defaults, validation of creates,
// updates and status updates, the pods/binding and pods/eviction actions,
// field selectors and the table `kubectl get pods` prints.
package pod

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
)

// Resource returns the pods resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion:        schema.GroupVersion{Version: "v1"},
		Resource:            "pods",
		Kind:                "Pod",
		ReturnDeletedObject: true,
		SingularName:        "pod",
		ShortNames:          []string{"po"},
		Categories:          []string{"all"},
		Namespaced:          true,
		New:                 func() runtime.Object { return &corev1.Pod{} },
		NewList:             func() runtime.Object { return &corev1.PodList{} },
		HasStatus:           true,
		// Pods have tracked metadata.generation since 1.35
		// (PodObservedGenerationTracking): it starts at 1 and moves with
		// every spec change, and status.observedGeneration follows it.
		TracksGeneration: true,
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) { Default(obj.(*corev1.Pod)) },
			PrepareForCreate: func(_ context.Context, obj runtime.Object) {
				PrepareForCreate(obj.(*corev1.Pod))
			},
			PrepareForUpdate: func(_ context.Context, obj, old runtime.Object) {
				PrepareForUpdate(obj.(*corev1.Pod), old.(*corev1.Pod))
			},
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*corev1.Pod))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*corev1.Pod), old.(*corev1.Pod))
			},
			Warnings: func(_ context.Context, obj, old runtime.Object) []string {
				// Upstream warns on create only (old is nil, or a nil
				// pointer): pod updates come mostly from controllers.
				if o, _ := old.(*corev1.Pod); o != nil {
					return nil
				}
				return Warnings(obj.(*corev1.Pod))
			},
		},
		StatusHooks: registry.StatusHooks{
			Meta: registry.StatusMetaRequestButOwners,
			PrepareForUpdate: func(_ context.Context, obj, old runtime.Object) {
				PrepareForStatusUpdate(obj.(*corev1.Pod), old.(*corev1.Pod))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateStatusUpdate(obj.(*corev1.Pod), old.(*corev1.Pod))
			},
		},
		// kubectl debug adds ephemeral containers through their own
		// subresource, an update of the spec's ephemeral containers only;
		// pods/resize changes the containers' resources.
		StatusLike: map[string]registry.StatusHooks{
			"ephemeralcontainers": {
				Spec: true,
				PrepareForUpdate: func(_ context.Context, obj, old runtime.Object) {
					pod, o := obj.(*corev1.Pod), old.(*corev1.Pod)
					PrepareForEphemeralUpdate(pod, o)
					if !apiequality.Semantic.DeepEqual(pod.Spec.EphemeralContainers, o.Spec.EphemeralContainers) {
						pod.Generation = o.Generation + 1
					}
				},
				ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
					return ValidateEphemeralUpdate(obj.(*corev1.Pod), old.(*corev1.Pod))
				},
			},
			// In-place resize: an update of the containers' resources.
			"resize": {
				Spec: true,
				PrepareForUpdate: func(_ context.Context, obj, old runtime.Object) {
					PrepareForResize(obj.(*corev1.Pod), old.(*corev1.Pod))
				},
				ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
					return ValidateResize(obj.(*corev1.Pod), old.(*corev1.Pod))
				},
			},
		},
		// A scheduled pod's delete waits its grace period for the kubelet
		// to stop it; unscheduled and finished pods go at once.
		Deletion: &registry.Deletion{
			GracePeriod: func(obj runtime.Object, requested *int64) int64 {
				return GracePeriod(obj.(*corev1.Pod), requested)
			},
		},
		Table:            table(),
		SelectableFields: func(obj runtime.Object) fields.Set { return SelectableFields(obj.(*corev1.Pod)) },
		Actions: map[string]*registry.Action{
			"binding": {
				New: func() runtime.Object { return &corev1.Binding{} },
				Apply: func(_ context.Context, obj, body runtime.Object) error {
					return Bind(obj.(*corev1.Pod), body.(*corev1.Binding))
				},
			},
			"eviction": evictionAction(),
		},
	}
}
