package nodeaffinity

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	st "github.com/kemudi/kemudi/internal/scheduler/schedtest"
)

func required(terms ...corev1.NodeSelectorTerm) st.PodOpt {
	return st.Affinity(&corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms},
	}})
}

func expr(key string, op corev1.NodeSelectorOperator, values ...string) corev1.NodeSelectorTerm {
	return corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: key, Operator: op, Values: values}}}
}

func names(values ...string) corev1.NodeSelectorTerm {
	return corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{{Key: metav1.ObjectNameField, Operator: corev1.NodeSelectorOpIn, Values: values}}}
}

func TestFilter(t *testing.T) {
	nodes := []*corev1.Node{
		st.Node("ssd", st.NodeLabels("disk", "ssd")),
		st.Node("hdd", st.NodeLabels("disk", "hdd")),
		st.Node("bare"),
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		pass map[string]bool
		msg  string
	}{
		{"nothing asked", st.Pod("p"), map[string]bool{"ssd": true, "hdd": true, "bare": true}, ""},
		{"node selector", st.Pod("p", st.NodeSelector("disk", "ssd")), map[string]bool{"ssd": true}, ErrReasonPod},
		{"required In", st.Pod("p", required(expr("disk", corev1.NodeSelectorOpIn, "ssd", "hdd"))), map[string]bool{"ssd": true, "hdd": true}, ErrReasonPod},
		{"required DoesNotExist", st.Pod("p", required(expr("disk", corev1.NodeSelectorOpDoesNotExist))), map[string]bool{"bare": true}, ErrReasonPod},
		{"terms are ORed", st.Pod("p", required(expr("disk", corev1.NodeSelectorOpIn, "ssd"), expr("disk", corev1.NodeSelectorOpDoesNotExist))), map[string]bool{"ssd": true, "bare": true}, ErrReasonPod},
		{"selector and affinity both apply", st.Pod("p", st.NodeSelector("disk", "ssd"), required(expr("disk", corev1.NodeSelectorOpIn, "hdd"))), map[string]bool{}, ErrReasonPod},
		{"node names narrow the nodes", st.Pod("p", required(names("hdd"), names("bare"))), map[string]bool{"hdd": true, "bare": true}, "excluded by PreFilter"},
		{"a bad operator value matches nothing", st.Pod("p", required(expr("disk", corev1.NodeSelectorOpGt, "x"))), map[string]bool{}, ErrReasonPod},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for n, s := range st.Filter(New(), tt.pod, nil, nodes) {
				if s.IsSuccess() != tt.pass[n] {
					t.Errorf("%s: %v", n, s)
				}
				if !s.IsSuccess() && s.Message() != tt.msg {
					t.Errorf("%s: reason %q, want %q", n, s.Message(), tt.msg)
				}
			}
		})
	}
}

func TestConflictingNames(t *testing.T) {
	term := names("a")
	term.MatchFields = append(term.MatchFields, corev1.NodeSelectorRequirement{Key: metav1.ObjectNameField, Operator: corev1.NodeSelectorOpIn, Values: []string{"b"}})
	s := st.Filter(New(), st.Pod("p", required(term)), nil, []*corev1.Node{st.Node("a")})["a"]
	if s.IsSuccess() || s.Message() != errReasonConflict {
		t.Errorf("status %v", s)
	}
}

func TestScore(t *testing.T) {
	nodes := []*corev1.Node{
		st.Node("a", st.NodeLabels("disk", "ssd", "zone", "z1")),
		st.Node("b", st.NodeLabels("disk", "ssd")),
		st.Node("c"),
	}
	pod := st.Pod("p", st.Affinity(&corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{
			{Weight: 2, Preference: expr("disk", corev1.NodeSelectorOpIn, "ssd")},
			{Weight: 6, Preference: expr("zone", corev1.NodeSelectorOpIn, "z1")},
		},
	}}))
	got, err := st.Score(New(), pod, nil, nodes)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"a": 100, "b": 25, "c": 0}
	for n, v := range want {
		if got[n] != v {
			t.Errorf("%s scored %d, want %d", n, got[n], v)
		}
	}
	if got, _ := st.Score(New(), st.Pod("q"), nil, nodes); got != nil {
		t.Errorf("pod without preferences scored %v", got)
	}
}
