package deployment

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestRolloutStatus(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	deadline := int32(60)
	base := func(mutate func(d *appsv1.Deployment)) *appsv1.Deployment {
		d := rolling(3, "1", "0")
		d.Name, d.Generation = "web", 2
		d.Spec.ProgressDeadlineSeconds = &deadline
		if mutate != nil {
			mutate(d)
		}
		return d
	}
	progressing := func(reason string, at time.Time) func(d *appsv1.Deployment) {
		return func(d *appsv1.Deployment) {
			d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: reason,
				LastUpdateTime: metav1.NewTime(at), LastTransitionTime: metav1.NewTime(at)}}
			d.Status.ObservedGeneration = 2
			d.Status.Replicas, d.Status.UpdatedReplicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas = 4, 1, 3, 3
		}
	}
	for _, c := range []struct {
		name                 string
		d                    *appsv1.Deployment
		old, new             *appsv1.ReplicaSet
		reason               string
		status               corev1.ConditionStatus
		available            corev1.ConditionStatus
		replicas, updated    int32
		ready, availableRepl int32
	}{
		{"complete", base(progressing(reasonRSUpdated, now.Add(-10*time.Second))), rs("old", 0, 0, 1), rs("new", 3, 3, 2),
			reasonNewRSAvailable, corev1.ConditionTrue, corev1.ConditionTrue, 3, 3, 3, 3},
		{"progress", base(progressing(reasonNewRSCreated, now.Add(-10*time.Second))), rs("old", 2, 2, 1), rs("new", 2, 1, 2),
			reasonRSUpdated, corev1.ConditionTrue, corev1.ConditionTrue, 4, 2, 3, 3},
		{"stuck past the deadline", base(progressing(reasonRSUpdated, now.Add(-61*time.Second))), rs("old", 3, 3, 1), func() *appsv1.ReplicaSet {
			r := rs("new", 1, 0, 2)
			r.Status.Replicas = 1
			return r
		}(), reasonTimedOut, corev1.ConditionFalse, corev1.ConditionTrue, 4, 1, 3, 3},
		{"stuck within the deadline", base(progressing(reasonRSUpdated, now.Add(-30*time.Second))), rs("old", 3, 3, 1), rs("new", 1, 0, 2),
			reasonRSUpdated, corev1.ConditionTrue, corev1.ConditionTrue, 4, 1, 3, 3},
		{"not enough available", base(progressing(reasonRSUpdated, now.Add(-30*time.Second))), rs("old", 0, 0, 1), rs("new", 3, 1, 2),
			reasonRSUpdated, corev1.ConditionTrue, corev1.ConditionFalse, 3, 3, 1, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := rolloutStatus([]*appsv1.ReplicaSet{c.old, c.new}, c.new, c.d, now)
			p, a := getCondition(s, appsv1.DeploymentProgressing), getCondition(s, appsv1.DeploymentAvailable)
			if p == nil || p.Reason != c.reason || p.Status != c.status {
				t.Errorf("progressing %+v, want %s %s", p, c.reason, c.status)
			}
			if a == nil || a.Status != c.available {
				t.Errorf("available %+v, want %s", a, c.available)
			}
			if s.Replicas != c.replicas || s.UpdatedReplicas != c.updated || s.ReadyReplicas != c.ready || s.AvailableReplicas != c.availableRepl || s.ObservedGeneration != 2 {
				t.Errorf("status %+v", s)
			}
		})
	}
}

func TestProgressCheckAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	deadline := int32(60)
	d := rolling(3, "1", "0")
	d.Spec.ProgressDeadlineSeconds = &deadline
	d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: reasonRSUpdated, LastUpdateTime: metav1.NewTime(now.Add(-20 * time.Second))}}
	if got := progressCheckAfter(d, appsv1.DeploymentStatus{}, now); got != 41*time.Second {
		t.Fatalf("check after %v, want 41s", got)
	}
	d.Status.Conditions[0].Reason = reasonTimedOut
	if got := progressCheckAfter(d, appsv1.DeploymentStatus{}, now); got != -1 {
		t.Fatalf("timed out: check after %v", got)
	}
}
