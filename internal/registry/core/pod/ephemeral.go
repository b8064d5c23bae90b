package pod

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/diff"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry/core/podspec"
)

// The pods/ephemeralcontainers subresource (`kubectl debug`) is an update
// of the whole pod of which only spec.ephemeralContainers counts. The
// registry contract has no hook for it; the API server serves it with
// these two functions around the generic update: PrepareForEphemeralUpdate
// in place of PrepareForUpdate, ValidateEphemeralUpdate in place of
// ValidateUpdate. Metadata (but identity) and status come from old.

// PrepareForEphemeralUpdate keeps everything of old but the new
// ephemeral containers (generation moves when they change).
func PrepareForEphemeralUpdate(pod, old *corev1.Pod) {
	ecs := pod.Spec.EphemeralContainers
	pod.Spec = *old.Spec.DeepCopy()
	pod.Spec.EphemeralContainers = ecs
	pod.Status = *old.Status.DeepCopy()
	pod.Labels, pod.Annotations = old.Labels, old.Annotations
	pod.OwnerReferences, pod.Finalizers = old.OwnerReferences, old.Finalizers
	podspec.DropDisabledFields(&pod.Spec, &old.Spec)
}

// ValidateEphemeralUpdate checks an update of ephemeral containers: the
// pod stays valid, and existing ephemeral containers are neither removed
// nor changed (they can only be added).
func ValidateEphemeralUpdate(pod, old *corev1.Pod) field.ErrorList {
	if _, mirror := old.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return field.ErrorList{field.Forbidden(field.NewPath(""), "static pods do not support ephemeral containers")}
	}
	errs := validateMetadataAndSpec(pod)
	errs = append(errs, validateAnnotationUpdates(pod, old, field.NewPath("metadata", "annotations"))...)
	byName := make(map[string]*corev1.EphemeralContainer, len(pod.Spec.EphemeralContainers))
	for i := range pod.Spec.EphemeralContainers {
		byName[pod.Spec.EphemeralContainers[i].Name] = &pod.Spec.EphemeralContainers[i]
	}
	p := field.NewPath("spec", "ephemeralContainers")
	for _, o := range old.Spec.EphemeralContainers {
		n, ok := byName[o.Name]
		switch {
		case !ok:
			errs = append(errs, field.Forbidden(p, fmt.Sprintf("existing ephemeral containers %q may not be removed\n", o.Name)))
		case !apiequality.Semantic.DeepEqual(o, *n):
			errs = append(errs, field.Forbidden(p, fmt.Sprintf("existing ephemeral containers %q may not be changed\n%v", o.Name, diff.Diff(o, *n))))
		}
	}
	return errs
}
