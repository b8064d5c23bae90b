package disruption

import (
	"context"
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var now = time.Unix(100000, 0)

func pod(name, owner string, ready bool) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}}
	if owner != "" {
		t := true
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: owner, UID: types.UID(owner), Controller: &t}}
	}
	if ready {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	}
	return p
}

// scales finds StatefulSets with the given replicas.
func scales(replicas map[string]int32) []finder {
	return []finder{func(_ context.Context, ref *metav1.OwnerReference, _ string) (*scaleOf, error) {
		n, ok := replicas[ref.Name]
		if !ok {
			return nil, nil
		}
		return &scaleOf{ref.UID, n}, nil
	}}
}

func TestExpectedCounts(t *testing.T) {
	intOr := func(v intstr.IntOrString) *intstr.IntOrString { return &v }
	three := []*corev1.Pod{pod("a", "web", true), pod("b", "web", true), pod("c", "web", false)}
	for _, tc := range []struct {
		name              string
		spec              policyv1.PodDisruptionBudgetSpec
		pods              []*corev1.Pod
		replicas          map[string]int32
		expected, desired int32
		unmanaged         int
		err               bool
	}{
		{"minAvailable int counts pods", policyv1.PodDisruptionBudgetSpec{MinAvailable: intOr(intstr.FromInt32(2))}, three, nil, 3, 2, 0, false},
		{"minAvailable percent of the controller's replicas", policyv1.PodDisruptionBudgetSpec{MinAvailable: intOr(intstr.FromString("50%"))}, three, map[string]int32{"web": 5}, 5, 3, 0, false},
		{"maxUnavailable int", policyv1.PodDisruptionBudgetSpec{MaxUnavailable: intOr(intstr.FromInt32(1))}, three, map[string]int32{"web": 3}, 3, 2, 0, false},
		{"maxUnavailable percent rounds up", policyv1.PodDisruptionBudgetSpec{MaxUnavailable: intOr(intstr.FromString("50%"))}, three, map[string]int32{"web": 3}, 3, 1, 0, false},
		{"maxUnavailable beyond the scale", policyv1.PodDisruptionBudgetSpec{MaxUnavailable: intOr(intstr.FromInt32(9))}, three, map[string]int32{"web": 3}, 3, 0, 0, false},
		{"unmanaged pods", policyv1.PodDisruptionBudgetSpec{MaxUnavailable: intOr(intstr.FromInt32(1))}, append(three, pod("bare", "", true)), map[string]int32{"web": 3}, 3, 2, 1, false},
		{"no controller found", policyv1.PodDisruptionBudgetSpec{MaxUnavailable: intOr(intstr.FromInt32(1))}, three, map[string]int32{}, 0, 0, 0, true},
	} {
		pdb := &policyv1.PodDisruptionBudget{Spec: tc.spec}
		expected, desired, unmanaged, err := expectedCounts(context.Background(), pdb, tc.pods, scales(tc.replicas))
		if (err != nil) != tc.err {
			t.Errorf("%s: err %v", tc.name, err)
			continue
		}
		if tc.err {
			continue
		}
		if expected != tc.expected || desired != tc.desired || len(unmanaged) != tc.unmanaged {
			t.Errorf("%s: expected %d desired %d unmanaged %v; want %d %d %d", tc.name, expected, desired, unmanaged, tc.expected, tc.desired, tc.unmanaged)
		}
	}
	if _, _, _, err := expectedCounts(context.Background(), &policyv1.PodDisruptionBudget{Spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: intOr(intstr.FromInt32(1))}}, three,
		[]finder{func(context.Context, *metav1.OwnerReference, string) (*scaleOf, error) {
			return nil, errors.New("boom")
		}}); err == nil {
		t.Error("a finder error was swallowed")
	}
}

func TestDisruptedPodsAndHealth(t *testing.T) {
	pods := []*corev1.Pod{pod("a", "web", true), pod("b", "web", true), pod("c", "web", true), pod("d", "web", true)}
	deleting := metav1.NewTime(now)
	pods[3].DeletionTimestamp = &deleting
	pdb := &policyv1.PodDisruptionBudget{Status: policyv1.PodDisruptionBudgetStatus{DisruptedPods: map[string]metav1.Time{
		"a": metav1.NewTime(now.Add(-time.Minute)),     // recent: still expected to go
		"b": metav1.NewTime(now.Add(-3 * time.Minute)), // past the timeout: dropped
		"d": metav1.NewTime(now),                       // being deleted: done
	}}}
	kept, expired, recheck := disruptedPods(pdb, pods, now)
	if len(kept) != 1 || kept["a"].Time.IsZero() || len(expired) != 1 || expired[0].Name != "b" {
		t.Errorf("kept %v expired %v", kept, expired)
	}
	if recheck == nil || !recheck.Equal(now.Add(time.Minute)) {
		t.Errorf("recheck %v", recheck)
	}
	if got := countHealthy(pods, kept, now); got != 2 {
		t.Errorf("healthy %d, want 2 (b and c; a is being evicted, d deleted)", got)
	}
	for _, tc := range []struct{ current, desired, expected, want int32 }{
		{3, 2, 3, 1}, {2, 2, 3, 0}, {1, 2, 3, 0}, {3, 0, 0, 0}, {5, 1, 5, 4},
	} {
		if got := disruptionsAllowed(tc.current, tc.desired, tc.expected); got != tc.want {
			t.Errorf("allowed(%d,%d,%d) = %d, want %d", tc.current, tc.desired, tc.expected, got, tc.want)
		}
	}
}
