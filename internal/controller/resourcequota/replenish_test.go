package resourcequota

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestReplenishes: which pod updates make the controller recount its
// namespace's quotas at once rather than at the next full resync.
func TestReplenishes(t *testing.T) {
	base := &corev1.Pod{
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{Name: "c",
			Resources: &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}}}},
	}
	with := func(change func(*corev1.Pod)) *corev1.Pod {
		p := base.DeepCopy()
		change(p)
		return p
	}
	for _, tc := range []struct {
		name string
		cur  *corev1.Pod
		want bool
	}{
		{"nothing that counts", with(func(p *corev1.Pod) { p.Labels = map[string]string{"a": "b"} }), false},
		{"finished", with(func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }), true},
		{"being deleted", with(func(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{} }), true},
		{"given a deadline: now Terminating", with(func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](60) }), true},
		{"resized in place", with(func(p *corev1.Pod) {
			p.Status.ContainerStatuses[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("200m")
		}), true},
	} {
		if got := replenishes(base, tc.cur); got != tc.want {
			t.Errorf("%s: replenishes %v, want %v", tc.name, got, tc.want)
		}
	}
}
