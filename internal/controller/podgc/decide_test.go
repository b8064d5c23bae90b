package podgc

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func pod(name, node string, phase corev1.PodPhase, created time.Duration, opts ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, CreationTimestamp: metav1.NewTime(t0.Add(created))},
		Spec:       corev1.PodSpec{NodeName: node},
		Status:     corev1.PodStatus{Phase: phase},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func terminating(p *corev1.Pod) { now := metav1.NewTime(t0); p.DeletionTimestamp = &now }

func evictedPod(p *corev1.Pod) { p.Status.Reason = evictedReason }

func node(name string, ready corev1.ConditionStatus, taints ...corev1.Taint) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.NodeSpec{Taints: taints},
		Status:     corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready}}},
	}
}

var outOfService = corev1.Taint{Key: corev1.TaintNodeOutOfService, Effect: corev1.TaintEffectNoExecute}

func TestDecide(t *testing.T) {
	ready := node("n1", corev1.ConditionTrue)
	for _, tc := range []struct {
		name      string
		pods      []*corev1.Pod
		nodes     []*corev1.Node
		threshold int
		gone      []string
		want      []string // "name:reason"
	}{
		{
			name: "nothing to do",
			pods: []*corev1.Pod{
				pod("run", "n1", corev1.PodRunning, 0),
				pod("done", "n1", corev1.PodSucceeded, 0),
			},
			nodes: []*corev1.Node{ready}, threshold: 1,
		},
		{
			name: "terminated beyond the threshold, oldest first, running pods not counted",
			pods: []*corev1.Pod{
				pod("a-new", "n1", corev1.PodSucceeded, 3*time.Second),
				pod("z-old", "n1", corev1.PodFailed, 1*time.Second),
				pod("m-mid", "n1", corev1.PodSucceeded, 2*time.Second),
				pod("run", "n1", corev1.PodRunning, 0),
				pod("pending", "n1", corev1.PodPending, 0),
				pod("unknown", "n1", corev1.PodUnknown, 0),
			},
			nodes: []*corev1.Node{ready}, threshold: 1,
			want: []string{"z-old:terminated", "m-mid:terminated"},
		},
		{
			name: "evicted pods go first, ties by name",
			pods: []*corev1.Pod{
				pod("old", "n1", corev1.PodSucceeded, 0),
				pod("evicted", "n1", corev1.PodFailed, time.Hour, evictedPod),
				pod("b", "n1", corev1.PodFailed, time.Second),
				pod("a", "n1", corev1.PodFailed, time.Second),
			},
			nodes: []*corev1.Node{ready}, threshold: 1,
			want: []string{"evicted:terminated", "old:terminated", "a:terminated"},
		},
		{
			name: "threshold zero or less keeps every terminated pod",
			pods: []*corev1.Pod{
				pod("a", "n1", corev1.PodSucceeded, 0),
				pod("b", "n1", corev1.PodSucceeded, 0),
			},
			nodes: []*corev1.Node{ready}, threshold: 0,
		},
		{
			name: "terminating on a not-ready out-of-service node",
			pods: []*corev1.Pod{
				pod("term", "oos", corev1.PodRunning, time.Second, terminating),
				pod("term-old", "oos", corev1.PodRunning, 0, terminating),
				pod("running", "oos", corev1.PodRunning, 0),
				pod("term-on-tainted-ready", "oos-ready", corev1.PodRunning, 0, terminating),
				pod("term-on-untainted", "notready", corev1.PodRunning, 0, terminating),
			},
			nodes: []*corev1.Node{
				node("oos", corev1.ConditionFalse, outOfService),
				node("oos-ready", corev1.ConditionTrue, outOfService),
				node("notready", corev1.ConditionUnknown),
			},
			want: []string{"term-old:out-of-service", "term:out-of-service"},
		},
		{
			name: "the out-of-service taint counts whatever its effect",
			pods: []*corev1.Pod{pod("term", "oos", corev1.PodRunning, 0, terminating)},
			nodes: []*corev1.Node{
				node("oos", corev1.ConditionFalse, corev1.Taint{Key: corev1.TaintNodeOutOfService, Effect: corev1.TaintEffectNoSchedule}),
			},
			want: []string{"term:out-of-service"},
		},
		{
			name: "orphans only on nodes confirmed gone, terminal or not",
			pods: []*corev1.Pod{
				pod("orphan", "gone", corev1.PodRunning, 0),
				pod("orphan-done", "gone", corev1.PodSucceeded, 0),
				pod("waiting", "missing", corev1.PodRunning, 0),
				pod("fine", "n1", corev1.PodRunning, 0),
				pod("unbound", "", corev1.PodPending, 0),
			},
			nodes: []*corev1.Node{ready}, gone: []string{"gone"},
			want: []string{"orphan:orphaned", "orphan-done:orphaned"},
		},
		{
			name: "unscheduled terminating",
			pods: []*corev1.Pod{
				pod("unscheduled", "", corev1.PodPending, 0, terminating),
				pod("pending", "", corev1.PodPending, 0),
				pod("bound", "n1", corev1.PodRunning, 0, terminating),
			},
			nodes: []*corev1.Node{ready},
			want:  []string{"unscheduled:unscheduled"},
		},
		{
			name: "each pod once, by the first pass that takes it",
			pods: []*corev1.Pod{
				pod("both", "gone", corev1.PodFailed, 0),
				pod("keep", "gone", corev1.PodFailed, time.Second),
				pod("unscheduled-done", "", corev1.PodSucceeded, -time.Second, terminating),
			},
			threshold: 1, gone: []string{"gone"},
			want: []string{"unscheduled-done:terminated", "both:terminated", "keep:orphaned"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gone := map[string]bool{}
			for _, n := range tc.gone {
				gone[n] = true
			}
			var got []string
			for _, d := range Decide(Input{Pods: tc.pods, Nodes: tc.nodes, Threshold: tc.threshold, Gone: gone}) {
				got = append(got, d.Pod.Name+":"+string(d.Reason))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("decisions %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMissingNodes(t *testing.T) {
	pods := []*corev1.Pod{
		pod("a", "n1", corev1.PodRunning, 0),
		pod("b", "gone", corev1.PodRunning, 0),
		pod("c", "gone", corev1.PodSucceeded, 0),
		pod("d", "", corev1.PodPending, 0),
	}
	got := MissingNodes(pods, []*corev1.Node{node("n1", corev1.ConditionTrue)})
	if !reflect.DeepEqual(got, map[string]bool{"gone": true}) {
		t.Errorf("missing %v", got)
	}
}

func TestQuarantine(t *testing.T) {
	q := newQuarantine(40 * time.Second)
	missing := map[string]bool{"a": true}
	steps := []struct {
		at      time.Duration
		missing map[string]bool
		want    []string
	}{
		{0, missing, nil},
		{20 * time.Second, map[string]bool{"a": true, "b": true}, nil},
		{40 * time.Second, missing, []string{"a"}},                     // b came back: forgotten
		{50 * time.Second, map[string]bool{"a": true, "b": true}, nil}, // a waits again
		{90 * time.Second, map[string]bool{"a": true, "b": true}, []string{"a", "b"}},
		{100 * time.Second, nil, nil},
	}
	for _, s := range steps {
		if got := q.due(s.missing, t0.Add(s.at)); !reflect.DeepEqual(got, s.want) {
			t.Errorf("at %v: due %v, want %v", s.at, got, s.want)
		}
	}
	if len(q.since) != 0 {
		t.Errorf("remembered %v after every node came back", q.since)
	}
}

func TestFailedPatch(t *testing.T) {
	earlier := metav1.NewTime(t0.Add(-time.Hour))
	for _, tc := range []struct {
		name      string
		pod       *corev1.Pod
		disrupted bool
		want      string
	}{
		{
			name: "phase only",
			pod:  pod("p", "n1", corev1.PodRunning, 0, func(p *corev1.Pod) { p.UID, p.Generation = "u1", 2 }),
			want: `{"metadata":{"uid":"u1"},"status":{"observedGeneration":2,"phase":"Failed"}}`,
		},
		{
			name:      "orphan gets the DisruptionTarget condition",
			pod:       pod("p", "gone", corev1.PodPending, 0, func(p *corev1.Pod) { p.UID, p.Generation = "u1", 1 }),
			disrupted: true,
			want: `{"metadata":{"uid":"u1"},"status":{"conditions":[{"type":"DisruptionTarget","observedGeneration":1,"status":"True",` +
				`"lastProbeTime":null,"lastTransitionTime":"2026-12-01T10:00:00Z","reason":"DeletionByPodGC","message":"PodGC: node no longer exists"}],` +
				`"observedGeneration":1,"phase":"Failed"}}`,
		},
		{
			name: "an existing true condition keeps its transition time",
			pod: pod("p", "gone", corev1.PodRunning, 0, func(p *corev1.Pod) {
				p.UID, p.Generation = "u1", 1
				p.Status.Conditions = []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, LastTransitionTime: earlier}}
			}),
			disrupted: true,
			want: `{"metadata":{"uid":"u1"},"status":{"conditions":[{"type":"DisruptionTarget","observedGeneration":1,"status":"True",` +
				`"lastProbeTime":null,"lastTransitionTime":"2026-12-01T09:00:00Z","reason":"DeletionByPodGC","message":"PodGC: node no longer exists"}],` +
				`"observedGeneration":1,"phase":"Failed"}}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FailedPatch(tc.pod, tc.disrupted, t0)
			if err != nil {
				t.Fatal(err)
			}
			var a, b any
			if err := json.Unmarshal(got, &a); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tc.want), &b); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a, b) {
				t.Errorf("patch\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}
