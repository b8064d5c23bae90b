package replicaset

import (
	"errors"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kemudi/kemudi/internal/controller"
)

var now = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

type podOpt func(*corev1.Pod)

func pod(name string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name), CreationTimestamp: metav1.NewTime(now.Add(-time.Hour)), Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{NodeName: "n1"},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func onNode(n string) podOpt          { return func(p *corev1.Pod) { p.Spec.NodeName = n } }
func phase(ph corev1.PodPhase) podOpt { return func(p *corev1.Pod) { p.Status.Phase = ph } }
func created(ago time.Duration) podOpt {
	return func(p *corev1.Pod) { p.CreationTimestamp = metav1.NewTime(now.Add(-ago)) }
}
func cost(c string) podOpt {
	return func(p *corev1.Pod) { p.Annotations = map[string]string{podDeletionCostAnnotation: c} }
}
func restarts(n int32) podOpt {
	return func(p *corev1.Pod) { p.Status.ContainerStatuses = []corev1.ContainerStatus{{RestartCount: n}} }
}
func readySince(ago time.Duration) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(now.Add(-ago))}}
	}
}

// The first pod of each case is the one to delete before the second.
func TestDeletionOrder(t *testing.T) {
	for _, c := range []struct {
		name          string
		first, second *corev1.Pod
		related       []*corev1.Pod
	}{
		{"unscheduled first", pod("a", onNode(""), readySince(time.Hour)), pod("b", readySince(time.Hour)), nil},
		{"pending before running", pod("a", phase(corev1.PodPending)), pod("b"), nil},
		{"unknown before running", pod("a", phase(corev1.PodUnknown)), pod("b"), nil},
		{"not ready before ready", pod("a"), pod("b", readySince(time.Hour)), nil},
		{"lower deletion cost first", pod("a", readySince(time.Minute), cost("-5")), pod("b", readySince(time.Hour), cost("10")), nil},
		{"doubled up first", pod("a", onNode("crowded"), readySince(time.Hour)), pod("b", onNode("quiet"), readySince(time.Hour)),
			[]*corev1.Pod{pod("x", onNode("crowded")), pod("y", onNode("crowded")), pod("z", onNode("quiet"))}},
		{"ready for less time first", pod("a", readySince(time.Minute)), pod("b", readySince(10*time.Hour)), nil},
		{"more restarts first", pod("a", readySince(time.Hour), restarts(5)), pod("b", readySince(time.Hour), restarts(1)), nil},
		{"newer first", pod("a", created(time.Minute)), pod("b", created(10*time.Hour)), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, order := range [][]*corev1.Pod{{c.first, c.second}, {c.second, c.first}} {
				got := podsToDelete(append([]*corev1.Pod(nil), order...), c.related, 1, now)
				if len(got) != 1 || got[0].Name != c.first.Name {
					t.Fatalf("deleted %s first, want %s", got[0].Name, c.first.Name)
				}
			}
		})
	}
	// Pods of about the same age (same power of two) are not ordered by
	// age: the UID decides.
	a, b := pod("a", created(1000*time.Second)), pod("b", created(1010*time.Second))
	if got := podsToDelete([]*corev1.Pod{b, a}, nil, 1, now); got[0].Name != "a" {
		t.Fatalf("same-age pods: deleted %s first", got[0].Name)
	}
	if got := podsToDelete([]*corev1.Pod{a, b}, nil, 5, now); len(got) != 2 {
		t.Fatalf("asked for more than there are: %d", len(got))
	}
}

func TestCalculateStatus(t *testing.T) {
	replicas := int32(4)
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Generation: 3},
		Spec: appsv1.ReplicaSetSpec{Replicas: &replicas, MinReadySeconds: 10,
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "tier": "x"}}}},
	}
	full := func(p *corev1.Pod) { p.Labels["tier"] = "x" }
	active := []*corev1.Pod{
		pod("a", full, readySince(time.Minute)),
		pod("b", full, readySince(5*time.Second)), // ready, not yet available
		pod("c", readySince(time.Minute)),         // not fully labelled
	}
	terminating := []*corev1.Pod{pod("d")}
	s := calculateStatus(rs, active, terminating, errors.New("boom"), now)
	if s.Replicas != 3 || s.FullyLabeledReplicas != 2 || s.ReadyReplicas != 3 || s.AvailableReplicas != 2 || *s.TerminatingReplicas != 1 {
		t.Fatalf("status %+v", s)
	}
	if len(s.Conditions) != 1 || s.Conditions[0].Reason != "FailedCreate" || s.Conditions[0].Message != "boom" {
		t.Fatalf("conditions %+v", s.Conditions)
	}
	if !statusChanged(rs, s) {
		t.Fatal("change not seen")
	}
	rs.Status = s
	rs.Status.ObservedGeneration = 3
	s = calculateStatus(rs, active, terminating, nil, now)
	if len(s.Conditions) != 0 {
		t.Fatalf("failure condition kept after success: %+v", s.Conditions)
	}
	if next, ok := controller.SoonestAvailable(active, 10, now); !ok || next != 5*time.Second {
		t.Fatalf("next availability check %v %v", next, ok)
	}
	// A kind without terminatingReplicas (ReplicationControllers).
	if s := calculateStatus(rs, active, nil, nil, now); s.TerminatingReplicas != nil {
		t.Fatalf("terminatingReplicas for a kind without it: %v", *s.TerminatingReplicas)
	}
}

func TestReplicationControllerConversion(t *testing.T) {
	three := int32(3)
	rc := &corev1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Name: "legacy", Namespace: "ns", Generation: 2},
		Spec: corev1.ReplicationControllerSpec{Replicas: &three, Selector: map[string]string{"app": "legacy"},
			Template: &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "legacy"}}}},
		Status: corev1.ReplicationControllerStatus{Replicas: 2, ReadyReplicas: 1, Conditions: []corev1.ReplicationControllerCondition{
			{Type: corev1.ReplicationControllerReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate"}}},
	}
	rs := fromRC(rc)
	if *rs.Spec.Replicas != 3 || rs.Spec.Selector.MatchLabels["app"] != "legacy" || rs.Status.Replicas != 2 || len(rs.Status.Conditions) != 1 {
		t.Fatalf("converted %+v", rs)
	}
	back := toRC(rs)
	if back.Name != "legacy" || back.Status.ReadyReplicas != 1 || back.Status.Conditions[0].Reason != "FailedCreate" || back.Spec.Selector["app"] != "legacy" {
		t.Fatalf("converted back %+v", back)
	}
}
