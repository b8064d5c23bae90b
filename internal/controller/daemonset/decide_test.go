package daemonset

import (
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var now = time.Unix(100000, 0)

func newDS(mutate func(*appsv1.DaemonSet)) *appsv1.DaemonSet {
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "ds", Namespace: "ns", UID: "uid"},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "d"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "d"}}},
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{
				Type:          appsv1.RollingUpdateDaemonSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptr(intstr.FromInt32(1)), MaxSurge: ptr(intstr.FromInt32(0))},
			},
		},
	}
	if mutate != nil {
		mutate(ds)
	}
	return ds
}

func ptr[T any](v T) *T { return &v }

func node(name string, labels map[string]string, taints ...corev1.Taint) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Spec: corev1.NodeSpec{Taints: taints}}
}

func TestShouldRun(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ds        *appsv1.DaemonSet
		node      *corev1.Node
		run, keep bool
	}{
		{"plain node", newDS(nil), node("n", nil), true, true},
		{"node selector matches", newDS(func(d *appsv1.DaemonSet) { d.Spec.Template.Spec.NodeSelector = map[string]string{"disk": "ssd"} }), node("n", map[string]string{"disk": "ssd"}), true, true},
		{"node selector does not", newDS(func(d *appsv1.DaemonSet) { d.Spec.Template.Spec.NodeSelector = map[string]string{"disk": "ssd"} }), node("n", nil), false, false},
		{"nodeName elsewhere", newDS(func(d *appsv1.DaemonSet) { d.Spec.Template.Spec.NodeName = "other" }), node("n", nil), false, false},
		{"untolerated NoSchedule keeps what runs", newDS(nil), node("n", nil, corev1.Taint{Key: "dedicated", Effect: corev1.TaintEffectNoSchedule}), false, true},
		{"untolerated NoExecute evicts", newDS(nil), node("n", nil, corev1.Taint{Key: "dedicated", Effect: corev1.TaintEffectNoExecute}), false, false},
		{"tolerated taint", newDS(func(d *appsv1.DaemonSet) {
			d.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists}}
		}), node("n", nil, corev1.Taint{Key: "dedicated", Effect: corev1.TaintEffectNoExecute}), true, true},
		{"daemon pods tolerate unschedulable", newDS(nil), node("n", nil, corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}), true, true},
		{"and unreachable", newDS(nil), node("n", nil, corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute}), true, true},
		{"but not network-unavailable without hostNetwork", newDS(nil), node("n", nil, corev1.Taint{Key: corev1.TaintNodeNetworkUnavailable, Effect: corev1.TaintEffectNoSchedule}), false, true},
		{"which hostNetwork pods tolerate", newDS(func(d *appsv1.DaemonSet) { d.Spec.Template.Spec.HostNetwork = true }), node("n", nil, corev1.Taint{Key: corev1.TaintNodeNetworkUnavailable, Effect: corev1.TaintEffectNoSchedule}), true, true},
	} {
		run, keep := newPlacement(tc.ds).shouldRun(tc.node)
		if run != tc.run || keep != tc.keep {
			t.Errorf("%s: run %v keep %v, want %v %v", tc.name, run, keep, tc.run, tc.keep)
		}
	}
}

type podOpt func(*corev1.Pod)

func dpod(name, nodeName, hash string, age int, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{"app": "d", appsv1.DefaultDaemonSetUniqueLabelKey: hash},
			CreationTimestamp: metav1.NewTime(now.Add(-time.Duration(age) * time.Minute))},
		Spec:   corev1.PodSpec{NodeName: nodeName},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func ready(p *corev1.Pod) {
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(now.Add(-time.Hour))}}
}

func phase(ph corev1.PodPhase) podOpt { return func(p *corev1.Pod) { p.Status.Phase = ph } }

func TestPodsOnNode(t *testing.T) {
	never := func(string) bool { return false }
	for _, tc := range []struct {
		name           string
		ds             *appsv1.DaemonSet
		node           *corev1.Node
		pods           []*corev1.Pod
		inBackoff      func(string) bool
		create, delete string
	}{
		{"missing pod", newDS(nil), node("n", nil), nil, never, "n", ""},
		{"one pod is enough", newDS(nil), node("n", nil), []*corev1.Pod{dpod("a", "n", "h", 1)}, never, "", ""},
		{"the oldest stays", newDS(nil), node("n", nil), []*corev1.Pod{dpod("young", "n", "h", 1), dpod("old", "n", "h", 5)}, never, "", "young"},
		{"failed pod goes", newDS(nil), node("n", nil), []*corev1.Pod{dpod("f", "n", "h", 1, phase(corev1.PodFailed))}, never, "", "f"},
		{"unless in backoff", newDS(nil), node("n", nil), []*corev1.Pod{dpod("f", "n", "h", 1, phase(corev1.PodFailed))}, func(string) bool { return true }, "", ""},
		{"succeeded pod goes", newDS(nil), node("n", nil), []*corev1.Pod{dpod("s", "n", "h", 1, phase(corev1.PodSucceeded))}, never, "", "s"},
		{"misscheduled pod goes", newDS(nil), node("n", nil, corev1.Taint{Key: "x", Effect: corev1.TaintEffectNoExecute}), []*corev1.Pod{dpod("a", "n", "h", 1)}, never, "", "a"},
		{"surge: old stays while new is not available", newDS(func(d *appsv1.DaemonSet) {
			d.Spec.UpdateStrategy.RollingUpdate.MaxSurge = ptr(intstr.FromInt32(1))
			d.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = ptr(intstr.FromInt32(0))
		}), node("n", nil), []*corev1.Pod{dpod("old", "n", "h0", 5, ready), dpod("new", "n", "h", 1)}, never, "", ""},
		{"surge: old goes once new is available", newDS(func(d *appsv1.DaemonSet) {
			d.Spec.UpdateStrategy.RollingUpdate.MaxSurge = ptr(intstr.FromInt32(1))
			d.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = ptr(intstr.FromInt32(0))
		}), node("n", nil), []*corev1.Pod{dpod("old", "n", "h0", 5, ready), dpod("new", "n", "h", 1, ready)}, never, "", "old"},
	} {
		var a nodeActions
		podsOnNode(newPlacement(tc.ds), tc.node, tc.pods, "h", now, tc.inBackoff, &a)
		if got := strings.Join(a.create, ","); got != tc.create {
			t.Errorf("%s: create %q, want %q", tc.name, got, tc.create)
		}
		if got := strings.Join(a.delete, ","); got != tc.delete {
			t.Errorf("%s: delete %q, want %q", tc.name, got, tc.delete)
		}
	}
}

func TestRollingUpdate(t *testing.T) {
	nodes := map[string]*corev1.Node{"n1": node("n1", nil), "n2": node("n2", nil), "n3": node("n3", nil)}
	surge := func(d *appsv1.DaemonSet) {
		d.Spec.UpdateStrategy.RollingUpdate.MaxSurge = ptr(intstr.FromInt32(1))
		d.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = ptr(intstr.FromInt32(0))
	}
	for _, tc := range []struct {
		name           string
		ds             *appsv1.DaemonSet
		pods           map[string][]*corev1.Pod
		create, delete string
	}{
		{"maxUnavailable 1: one old pod at a time", newDS(nil), map[string][]*corev1.Pod{
			"n1": {dpod("a", "n1", "old", 5, ready)}, "n2": {dpod("b", "n2", "old", 5, ready)}, "n3": {dpod("c", "n3", "old", 5, ready)},
		}, "", "a"},
		{"a new pod not yet available uses the budget", newDS(nil), map[string][]*corev1.Pod{
			"n1": {dpod("a", "n1", "h", 1)}, "n2": {dpod("b", "n2", "old", 5, ready)}, "n3": {dpod("c", "n3", "old", 5, ready)},
		}, "", ""},
		{"unavailable old pods are replaced regardless", newDS(nil), map[string][]*corev1.Pod{
			"n1": {dpod("a", "n1", "h", 1)}, "n2": {dpod("b", "n2", "old", 5)}, "n3": {dpod("c", "n3", "old", 5, ready)},
		}, "", "b"},
		{"maxUnavailable 50% of 3 rounds up to 2", newDS(func(d *appsv1.DaemonSet) {
			d.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = ptr(intstr.FromString("50%"))
		}), map[string][]*corev1.Pod{
			"n1": {dpod("a", "n1", "old", 5, ready)}, "n2": {dpod("b", "n2", "old", 5, ready)}, "n3": {dpod("c", "n3", "old", 5, ready)},
		}, "", "a,b"},
		{"surge 1: a new pod beside one old", newDS(surge), map[string][]*corev1.Pod{
			"n1": {dpod("a", "n1", "old", 5, ready)}, "n2": {dpod("b", "n2", "old", 5, ready)}, "n3": {dpod("c", "n3", "old", 5, ready)},
		}, "n1", ""},
		{"surge: old goes when the new is available, next node surges", newDS(surge), map[string][]*corev1.Pod{
			"n1": {dpod("a", "n1", "old", 5, ready), dpod("a2", "n1", "h", 1, ready)}, "n2": {dpod("b", "n2", "old", 5, ready)}, "n3": {dpod("c", "n3", "old", 5, ready)},
		}, "n2", "a"},
		{"surge: waiting for the new pod", newDS(surge), map[string][]*corev1.Pod{
			"n1": {dpod("a", "n1", "old", 5, ready), dpod("a2", "n1", "h", 1)}, "n2": {dpod("b", "n2", "old", 5, ready)}, "n3": {dpod("c", "n3", "old", 5, ready)},
		}, "", ""},
	} {
		r, err := rollingUpdate(newPlacement(tc.ds), nodes, tc.pods, "h", now)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		sort.Strings(r.create)
		sort.Strings(r.delete)
		if got := strings.Join(r.create, ","); got != tc.create {
			t.Errorf("%s: create %q, want %q", tc.name, got, tc.create)
		}
		if got := strings.Join(r.delete, ","); got != tc.delete {
			t.Errorf("%s: delete %q, want %q", tc.name, got, tc.delete)
		}
	}
}

func TestStatusCounts(t *testing.T) {
	ds := newDS(func(d *appsv1.DaemonSet) { d.Spec.Template.Spec.NodeSelector = map[string]string{"run": "yes"} })
	yes := map[string]string{"run": "yes"}
	nodes := []*corev1.Node{node("n1", yes), node("n2", yes), node("n3", yes), node("n4", nil)}
	byNode := map[string][]*corev1.Pod{
		"n1": {dpod("a", "n1", "h", 5, ready)},
		"n2": {dpod("b", "n2", "old", 5)},
		"n4": {dpod("d", "n4", "h", 5, ready)},
	}
	got := statusCounts(newPlacement(ds), nodes, byNode, "h", now)
	want := counts{desired: 3, current: 2, misscheduled: 1, ready: 1, updated: 1, available: 1}
	if got != want {
		t.Errorf("counts %+v, want %+v", got, want)
	}
}

func TestPinToNode(t *testing.T) {
	a := pinToNode(&corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a"}}}}},
	}}}, "n7")
	p := &corev1.Pod{Spec: corev1.PodSpec{Affinity: a}}
	if n, ok := targetNode(p); !ok || n != "n7" {
		t.Errorf("target %q %v", n, ok)
	}
	if terms := a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms; len(terms) != 1 || len(terms[0].MatchExpressions) != 0 {
		t.Errorf("terms %+v", terms)
	}
	tmpl := podTemplate(newDS(nil), "h")
	if tmpl.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] != "h" || len(tmpl.Spec.Tolerations) != 6 {
		t.Errorf("template labels %v, %d tolerations", tmpl.Labels, len(tmpl.Spec.Tolerations))
	}
}
