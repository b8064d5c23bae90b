package nodelifecycle

import (
	"reflect"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func nodeWith(conds ...corev1.NodeCondition) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: corev1.NodeStatus{Conditions: conds}}
}

func cond(typ corev1.NodeConditionType, status corev1.ConditionStatus) corev1.NodeCondition {
	return corev1.NodeCondition{Type: typ, Status: status}
}

func TestNoScheduleTaints(t *testing.T) {
	for _, tc := range []struct {
		name string
		node *corev1.Node
		want []string
	}{
		{"ready", nodeWith(cond(corev1.NodeReady, corev1.ConditionTrue), cond(corev1.NodeMemoryPressure, corev1.ConditionFalse)), nil},
		{"not ready", nodeWith(cond(corev1.NodeReady, corev1.ConditionFalse)), []string{corev1.TaintNodeNotReady}},
		{"unknown", nodeWith(cond(corev1.NodeReady, corev1.ConditionUnknown)), []string{corev1.TaintNodeUnreachable}},
		{"pressure", nodeWith(cond(corev1.NodeReady, corev1.ConditionTrue), cond(corev1.NodeDiskPressure, corev1.ConditionTrue), cond(corev1.NodePIDPressure, corev1.ConditionTrue)),
			[]string{corev1.TaintNodeDiskPressure, corev1.TaintNodePIDPressure}},
		{"network", nodeWith(cond(corev1.NodeNetworkUnavailable, corev1.ConditionTrue)), []string{corev1.TaintNodeNetworkUnavailable}},
		{"cordoned", &corev1.Node{Spec: corev1.NodeSpec{Unschedulable: true}}, []string{corev1.TaintNodeUnschedulable}},
	} {
		var got []string
		for _, taint := range noScheduleTaints(tc.node) {
			if taint.Effect != corev1.TaintEffectNoSchedule {
				t.Errorf("%s: effect %s", tc.name, taint.Effect)
			}
			got = append(got, taint.Key)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: taints %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestReconcileNoScheduleKeepsOtherTaints(t *testing.T) {
	user := corev1.Taint{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}
	unreachableNE := corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute}
	stale := corev1.Taint{Key: corev1.TaintNodeDiskPressure, Effect: corev1.TaintEffectNoSchedule}
	want := []corev1.Taint{{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoSchedule}}
	got, changed := reconcileNoSchedule([]corev1.Taint{user, stale, unreachableNE}, want)
	if !changed {
		t.Fatal("no change reported")
	}
	if !reflect.DeepEqual(got, []corev1.Taint{user, unreachableNE, want[0]}) {
		t.Errorf("taints = %v", got)
	}
	if _, changed := reconcileNoSchedule(got, want); changed {
		t.Error("second reconcile changed again")
	}
}

func TestNoExecuteChange(t *testing.T) {
	base := []corev1.Taint{{Key: "x", Effect: corev1.TaintEffectNoSchedule}, notReadyTaint}
	add, remove := noExecuteChange(corev1.ConditionUnknown)
	got, changed := swapTaints(base, add, remove)
	if !changed || !reflect.DeepEqual(got, []corev1.Taint{base[0], unreachableTaint}) {
		t.Errorf("unknown: %v %v", got, changed)
	}
	add, remove = noExecuteChange(corev1.ConditionTrue)
	got, changed = swapTaints(got, add, remove)
	if !changed || !reflect.DeepEqual(got, []corev1.Taint{base[0]}) {
		t.Errorf("ready: %v %v", got, changed)
	}
	add, remove = noExecuteChange(corev1.ConditionFalse)
	if _, changed := swapTaints([]corev1.Taint{notReadyTaint}, add, remove); changed {
		t.Error("not ready twice changed")
	}
}

func TestObserve(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	created := metav1.NewTime(t0.Add(-time.Hour))
	hb := func(d time.Duration) corev1.NodeCondition {
		return corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: metav1.NewTime(t0.Add(d))}
	}
	lease := func(d time.Duration) *coordinationv1.Lease {
		rt := metav1.NewMicroTime(t0.Add(d))
		return &coordinationv1.Lease{Spec: coordinationv1.LeaseSpec{RenewTime: &rt}}
	}
	n := nodeWith(hb(0))
	n.CreationTimestamp = created

	h := observe(nil, n, nil, t0)
	if !h.probe.Equal(t0) {
		t.Fatalf("first look: probe %v", h.probe)
	}
	// Nothing new: the probe stays.
	h = observe(h, n, nil, t0.Add(10*time.Second))
	if !h.probe.Equal(t0) {
		t.Errorf("no news moved probe to %v", h.probe)
	}
	// A renewed lease is news.
	h = observe(h, n, lease(15*time.Second), t0.Add(20*time.Second))
	if !h.probe.Equal(t0.Add(20 * time.Second)) {
		t.Errorf("lease renewal: probe %v", h.probe)
	}
	// The same lease again is not.
	h = observe(h, n, lease(15*time.Second), t0.Add(30*time.Second))
	if !h.probe.Equal(t0.Add(20 * time.Second)) {
		t.Errorf("same lease: probe %v", h.probe)
	}
	// A new heartbeat in the status is.
	n2 := nodeWith(hb(35 * time.Second))
	h = observe(h, n2, lease(15*time.Second), t0.Add(40*time.Second))
	if !h.probe.Equal(t0.Add(40 * time.Second)) {
		t.Errorf("heartbeat: probe %v", h.probe)
	}
	// A node that never posted status counts from its creation.
	fresh := &corev1.Node{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: created}}
	if h := observe(nil, fresh, nil, t0); !h.probe.Equal(created.Time) {
		t.Errorf("never posted: probe %v", h.probe)
	}
}

func TestMarkUnknown(t *testing.T) {
	now := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	n := nodeWith(cond(corev1.NodeReady, corev1.ConditionTrue), cond(corev1.NodeMemoryPressure, corev1.ConditionFalse), cond(corev1.NodeNetworkUnavailable, corev1.ConditionFalse))
	if !markUnknown(n, now) {
		t.Fatal("Ready change not reported")
	}
	for _, c := range n.Status.Conditions {
		switch c.Type {
		case corev1.NodeNetworkUnavailable:
			if c.Status != corev1.ConditionFalse {
				t.Errorf("network condition changed to %s", c.Status)
			}
		case corev1.NodeReady, corev1.NodeMemoryPressure:
			if c.Status != corev1.ConditionUnknown || c.Reason != "NodeStatusUnknown" || c.Message != "Kubelet stopped posting node status." || !c.LastTransitionTime.Equal(&now) {
				t.Errorf("%s = %+v", c.Type, c)
			}
		default:
			if c.Status != corev1.ConditionUnknown || c.Reason != "NodeStatusNeverUpdated" {
				t.Errorf("%s = %+v", c.Type, c)
			}
		}
	}
	if len(n.Status.Conditions) != 5 {
		t.Errorf("conditions: %d, want 5", len(n.Status.Conditions))
	}
	if markUnknown(n, now) {
		t.Error("second pass reported a change")
	}
}

func TestComputeZoneState(t *testing.T) {
	T, F, U := corev1.ConditionTrue, corev1.ConditionFalse, corev1.ConditionUnknown
	for _, tc := range []struct {
		in   []corev1.ConditionStatus
		want zoneState
	}{
		{[]corev1.ConditionStatus{T, T}, zoneNormal},
		{[]corev1.ConditionStatus{U}, zoneFullDisruption},
		{[]corev1.ConditionStatus{U, F}, zoneFullDisruption},
		{[]corev1.ConditionStatus{T, U}, zoneNormal},
		{[]corev1.ConditionStatus{T, U, U}, zoneNormal}, // only two down
		{[]corev1.ConditionStatus{T, U, U, U}, zonePartialDisruption},
		{[]corev1.ConditionStatus{T, T, T, U, U, U}, zoneNormal}, // 50% < 55%
	} {
		if got := computeZoneState(tc.in); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.in, got, tc.want)
		}
	}
	if zoneTaintQPS(zonePartialDisruption, 10) != 0 || zoneTaintQPS(zonePartialDisruption, 51) != secondaryEvictionQPS || zoneTaintQPS(zoneFullDisruption, 3) != evictionQPS {
		t.Error("zone rates")
	}
}

func TestEvictionTime(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	added := metav1.NewTime(t0)
	unreachable := corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute, TimeAdded: &added}
	seconds := func(s int64) *int64 { return &s }
	tolerate := func(key string, s *int64) corev1.Toleration {
		return corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: s}
	}
	for _, tc := range []struct {
		name        string
		tolerations []corev1.Toleration
		taints      []corev1.Taint
		evict       bool
		at          time.Time
	}{
		{"no taints", nil, []corev1.Taint{{Key: "a", Effect: corev1.TaintEffectNoSchedule}}, false, time.Time{}},
		{"untolerated", nil, []corev1.Taint{unreachable}, true, time.Time{}},
		{"tolerated 300s", []corev1.Toleration{tolerate(corev1.TaintNodeUnreachable, seconds(300))}, []corev1.Taint{unreachable}, true, t0.Add(300 * time.Second)},
		{"tolerated forever", []corev1.Toleration{tolerate(corev1.TaintNodeUnreachable, nil)}, []corev1.Taint{unreachable}, false, time.Time{}},
		{"zero seconds", []corev1.Toleration{tolerate(corev1.TaintNodeUnreachable, seconds(0))}, []corev1.Taint{unreachable}, true, t0},
		{"tolerates all keys", []corev1.Toleration{{Operator: corev1.TolerationOpExists}}, []corev1.Taint{unreachable}, false, time.Time{}},
		{"one of two untolerated", []corev1.Toleration{tolerate(corev1.TaintNodeUnreachable, seconds(30))},
			[]corev1.Taint{unreachable, {Key: "other", Effect: corev1.TaintEffectNoExecute}}, true, time.Time{}},
		{"shortest wins", []corev1.Toleration{tolerate(corev1.TaintNodeUnreachable, seconds(30)), tolerate("other", seconds(10))},
			[]corev1.Taint{unreachable, {Key: "other", Effect: corev1.TaintEffectNoExecute}}, true, t0.Add(10 * time.Second)},
	} {
		at, evict := evictionTime(tc.tolerations, tc.taints, t0.Add(time.Minute))
		if evict != tc.evict || !at.Equal(tc.at) {
			t.Errorf("%s: (%v, %v), want (%v, %v)", tc.name, at, evict, tc.at, tc.evict)
		}
	}
	// A taint without TimeAdded counts from when it was first seen.
	noTime := corev1.Taint{Key: "x", Effect: corev1.TaintEffectNoExecute}
	at, _ := evictionTime([]corev1.Toleration{tolerate("x", seconds(5))}, []corev1.Taint{noTime}, t0)
	if !at.Equal(t0.Add(5 * time.Second)) {
		t.Errorf("first seen: %v", at)
	}
}
