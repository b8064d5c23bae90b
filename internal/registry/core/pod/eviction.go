package pod

import (
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ValidateEviction checks an Eviction body posted to pods/<name>/eviction
// against the pod it names (Evict checks this first).
func ValidateEviction(pod *corev1.Pod, e *policyv1.Eviction) error {
	return validateEviction(pod.Name, e)
}

// validateEviction checks an Eviction posted for the pod name.
func validateEviction(name string, e *policyv1.Eviction) error {
	if e.Name != name {
		return apierrors.NewBadRequest("name in URL does not match name in Eviction object")
	}
	if o := e.DeleteOptions; o != nil && o.IgnoreStoreReadErrorWithClusterBreakingPotential != nil && *o.IgnoreStoreReadErrorWithClusterBreakingPotential {
		errs := field.ErrorList{field.Invalid(field.NewPath("deleteOptions", "ignoreStoreReadErrorWithClusterBreakingPotential"), true,
			"can not be set for pod eviction, try after removing the option")}
		return apierrors.NewInvalid(schema.GroupKind{Group: "policy", Kind: "Eviction"}, e.Name, errs)
	}
	return nil
}

// CanIgnoreDisruptionBudget reports whether evicting pod needs no PDB
// check: it has finished, has not started (Pending), or is already being
// deleted.
func CanIgnoreDisruptionBudget(pod *corev1.Pod) bool {
	switch pod.Status.Phase {
	case corev1.PodSucceeded, corev1.PodFailed, corev1.PodPending:
		return true
	}
	return pod.DeletionTimestamp != nil
}

// MarkDisruptionTarget adds the DisruptionTarget condition upstream sets
// on a pod just before the eviction deletes it.
func MarkDisruptionTarget(pod *corev1.Pod) {
	setCondition(&pod.Status, corev1.PodCondition{
		Type:    corev1.DisruptionTarget,
		Status:  corev1.ConditionTrue,
		Reason:  "EvictionByEvictionAPI",
		Message: "Eviction API: evicting",
	})
}
