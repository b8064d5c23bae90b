package pvcprotection

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPodUsesClaim(t *testing.T) {
	pod := func(node string, phase corev1.PodPhase, vols ...corev1.Volume) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.PodSpec{NodeName: node, Volumes: vols}, Status: corev1.PodStatus{Phase: phase}}
	}
	claim := corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data-claim"}}}
	eph := corev1.Volume{Name: "scratch", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}}
	for _, tc := range []struct {
		name  string
		pod   *corev1.Pod
		claim string
		want  bool
	}{
		{"scheduled", pod("n1", corev1.PodRunning, claim), "data-claim", true},
		{"unscheduled", pod("", corev1.PodPending, claim), "data-claim", false},
		{"finished still holds", pod("n1", corev1.PodSucceeded, claim), "data-claim", true},
		{"other claim", pod("n1", corev1.PodRunning, claim), "other", false},
		{"ephemeral", pod("n1", corev1.PodRunning, eph), "web-scratch", true},
		{"ephemeral of a finished pod", pod("n1", corev1.PodFailed, eph), "web-scratch", false},
	} {
		if got := podUsesClaim(tc.pod, tc.claim); got != tc.want {
			t.Errorf("%s: %v", tc.name, got)
		}
	}
	if got := claimsOf(pod("n1", corev1.PodRunning, claim, eph)); !reflect.DeepEqual(got, []string{"data-claim", "web-scratch"}) {
		t.Errorf("claims = %v", got)
	}
	if got := without([]string{"a", PVCFinalizer, "b"}, PVCFinalizer); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("without = %v", got)
	}
}
