package pod

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/registry/core/podspec"
)

// PrepareForCreate sets what the server owns on a new pod: status is just
// phase Pending (plus the SchedulingGated condition for gated pods) and
// the QoS class; disabled alpha fields are dropped; matchLabelKeys of pod
// affinity terms are merged into their selectors with the pod's own label
// values; pod-level resources are completed.
func PrepareForCreate(pod *corev1.Pod) {
	pod.Status = corev1.PodStatus{Phase: corev1.PodPending}
	podspec.DropDisabledFields(&pod.Spec, nil)
	if len(pod.Spec.SchedulingGates) > 0 {
		setCondition(&pod.Status, corev1.PodCondition{
			Type:    corev1.PodScheduled,
			Status:  corev1.ConditionFalse,
			Reason:  corev1.PodReasonSchedulingGated,
			Message: "Scheduling is blocked due to non-empty scheduling gates",
		})
	}
	mergeAffinityLabelKeys(pod)
	syncAppArmor(pod)
	podspec.DefaultPodLevelResources(&pod.Spec)
	pod.Status.QOSClass = QOSClass(pod)
}

// PrepareForUpdate keeps pod-level resources a client that does not know
// them dropped, and drops disabled alpha fields the stored pod does not
// use.
func PrepareForUpdate(pod, old *corev1.Pod) {
	if pod.Spec.Resources == nil && old.Spec.Resources != nil {
		pod.Spec.Resources = old.Spec.Resources.DeepCopy()
	}
	podspec.DropDisabledFields(&pod.Spec, &old.Spec)
}

// PrepareForStatusUpdate guards what /status may not touch beyond the
// spec: owner references (old kubelets mangled them), the QoS class set at
// creation, and observedGeneration values a client left out.
func PrepareForStatusUpdate(pod, old *corev1.Pod) {
	pod.OwnerReferences = old.OwnerReferences
	if pod.Status.QOSClass == "" {
		pod.Status.QOSClass = old.Status.QOSClass
	}
	// DRA statuses survive a client that does not know the fields; an
	// empty non-nil list still clears them.
	if pod.Status.ResourceClaimStatuses == nil {
		pod.Status.ResourceClaimStatuses = old.Status.ResourceClaimStatuses
	}
	if pod.Status.ExtendedResourceClaimStatus == nil {
		pod.Status.ExtendedResourceClaimStatus = old.Status.ExtendedResourceClaimStatus
	}
	if pod.Status.ObservedGeneration == 0 {
		pod.Status.ObservedGeneration = old.Status.ObservedGeneration
	}
	dropImageVolumeDigests(&pod.Status, &old.Status)
	// Conditions without an observedGeneration keep the old one of the
	// same type, matched in order (types may repeat).
	olds := map[corev1.PodConditionType][]int64{}
	for _, c := range old.Status.Conditions {
		olds[c.Type] = append(olds[c.Type], c.ObservedGeneration)
	}
	for i, c := range pod.Status.Conditions {
		prev := int64(0)
		if gens := olds[c.Type]; len(gens) > 0 {
			prev, olds[c.Type] = gens[0], gens[1:]
		}
		if c.ObservedGeneration == 0 {
			pod.Status.Conditions[i].ObservedGeneration = prev
		}
	}
}

// setCondition adds or replaces the condition of its type, keeping the
// old transition time when the status did not change.
func setCondition(status *corev1.PodStatus, cond corev1.PodCondition) {
	cond.LastTransitionTime = metav1.NewTime(time.Now())
	for i := range status.Conditions {
		if status.Conditions[i].Type != cond.Type {
			continue
		}
		if status.Conditions[i].Status == cond.Status {
			cond.LastTransitionTime = status.Conditions[i].LastTransitionTime
		}
		status.Conditions[i] = cond
		return
	}
	status.Conditions = append(status.Conditions, cond)
}

// mergeAffinityLabelKeys turns a pod affinity term's matchLabelKeys and
// mismatchLabelKeys into In and NotIn expressions on the pod's own label
// values (MatchLabelKeysInPodAffinity, GA).
func mergeAffinityLabelKeys(pod *corev1.Pod) {
	a := pod.Spec.Affinity
	if a == nil {
		return
	}
	merge := func(term *corev1.PodAffinityTerm) {
		if term.LabelSelector == nil || (len(term.MatchLabelKeys) == 0 && len(term.MismatchLabelKeys) == 0) {
			return
		}
		add := func(keys []string, op metav1.LabelSelectorOperator) {
			for _, k := range keys {
				if v, ok := pod.Labels[k]; ok {
					term.LabelSelector.MatchExpressions = append(term.LabelSelector.MatchExpressions,
						metav1.LabelSelectorRequirement{Key: k, Operator: op, Values: []string{v}})
				}
			}
		}
		add(term.MatchLabelKeys, metav1.LabelSelectorOpIn)
		add(term.MismatchLabelKeys, metav1.LabelSelectorOpNotIn)
	}
	for _, terms := range [][]corev1.PodAffinityTerm{
		podAffinityRequired(a.PodAffinity), podAntiAffinityRequired(a.PodAntiAffinity),
	} {
		for i := range terms {
			merge(&terms[i])
		}
	}
	for _, terms := range [][]corev1.WeightedPodAffinityTerm{
		podAffinityPreferred(a.PodAffinity), podAntiAffinityPreferred(a.PodAntiAffinity),
	} {
		for i := range terms {
			merge(&terms[i].PodAffinityTerm)
		}
	}
}

func podAffinityRequired(a *corev1.PodAffinity) []corev1.PodAffinityTerm {
	if a == nil {
		return nil
	}
	return a.RequiredDuringSchedulingIgnoredDuringExecution
}

func podAffinityPreferred(a *corev1.PodAffinity) []corev1.WeightedPodAffinityTerm {
	if a == nil {
		return nil
	}
	return a.PreferredDuringSchedulingIgnoredDuringExecution
}

func podAntiAffinityRequired(a *corev1.PodAntiAffinity) []corev1.PodAffinityTerm {
	if a == nil {
		return nil
	}
	return a.RequiredDuringSchedulingIgnoredDuringExecution
}

func podAntiAffinityPreferred(a *corev1.PodAntiAffinity) []corev1.WeightedPodAffinityTerm {
	if a == nil {
		return nil
	}
	return a.PreferredDuringSchedulingIgnoredDuringExecution
}
