package ephemeral

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/component-helpers/storage/ephemeral"
	"k8s.io/utils/ptr"
)

// newClaim is a claim to create for one of a pod's volumes.
type newClaim struct {
	volume string
	claim  *corev1.PersistentVolumeClaim
}

// conflict is a volume whose claim exists but is not the pod's.
type conflict struct {
	volume string
	err    error
}

// action is what a pod's ephemeral volumes need: the claims to create,
// in the order of the volumes, up to the first volume whose claim
// belongs to someone else (upstream handles the volumes one by one and
// stops at the first failure).
type action struct {
	create   []newClaim
	conflict *conflict
}

// decide works out a pod's action; claimNamed returns the claim of that
// name in the pod's namespace, nil when there is none.
func decide(pod *corev1.Pod, claimNamed func(name string) *corev1.PersistentVolumeClaim) action {
	var a action
	for i := range pod.Spec.Volumes {
		vol := &pod.Spec.Volumes[i]
		if vol.Ephemeral == nil {
			continue
		}
		existing := claimNamed(ephemeral.VolumeClaimName(pod, vol))
		if existing == nil {
			a.create = append(a.create, newClaim{volume: vol.Name, claim: claimFor(pod, vol)})
			continue
		}
		if err := ephemeral.VolumeIsForPod(pod, existing); err != nil {
			a.conflict = &conflict{volume: vol.Name, err: err}
			return a
		}
	}
	return a
}

// claimFor is the claim of a pod's ephemeral volume as its template
// describes it (labels, annotations, spec), controlled by the pod.
func claimFor(pod *corev1.Pod, vol *corev1.Volume) *corev1.PersistentVolumeClaim {
	tmpl := vol.Ephemeral.VolumeClaimTemplate
	c := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{
			Name:      ephemeral.VolumeClaimName(pod, vol),
			Namespace: pod.Namespace,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion:         "v1",
				Kind:               "Pod",
				Name:               pod.Name,
				UID:                pod.UID,
				Controller:         ptr.To(true),
				BlockOwnerDeletion: ptr.To(true),
			}},
		},
	}
	if tmpl == nil {
		// Validation requires a template; a claim without a spec would
		// be refused and reported like any other failed create.
		return c
	}
	t := tmpl.DeepCopy()
	c.Labels, c.Annotations, c.Spec = t.Labels, t.Annotations, t.Spec
	return c
}

// claimsOf are the ephemeral claims a pod's volumes name, as
// "namespace/name" (the index that wakes a pod when its claim goes).
func claimsOf(pod *corev1.Pod) []string {
	var out []string
	for i := range pod.Spec.Volumes {
		if vol := &pod.Spec.Volumes[i]; vol.Ephemeral != nil {
			out = append(out, pod.Namespace+"/"+ephemeral.VolumeClaimName(pod, vol))
		}
	}
	return out
}
