package interpodaffinity

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/scheduler/framework"
	st "github.com/kemudi/kemudi/internal/scheduler/schedtest"
)

const zone = corev1.LabelTopologyZone

var nodes = []*corev1.Node{
	st.Node("a1", st.Zone("a")), st.Node("a2", st.Zone("a")),
	st.Node("b1", st.Zone("b")), st.Node("b2", st.Zone("b")),
}

func affinity(terms ...corev1.PodAffinityTerm) st.PodOpt {
	return st.Affinity(&corev1.Affinity{PodAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: terms}})
}

func antiAffinity(terms ...corev1.PodAffinityTerm) st.PodOpt {
	return st.Affinity(&corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: terms}})
}

func TestFilter(t *testing.T) {
	db := st.Pod("db", st.PodLabels("app", "db"), st.OnNode("a1"))
	web := st.Pod("web", st.PodLabels("app", "web"), st.OnNode("b1"))
	all := map[string]bool{"a1": true, "a2": true, "b1": true, "b2": true}
	tests := []struct {
		name     string
		pod      *corev1.Pod
		existing []*corev1.Pod
		pass     map[string]bool
		reason   string
	}{
		{
			name: "no terms, nothing running with anti-affinity", pod: st.Pod("p"),
			existing: []*corev1.Pod{db, web}, pass: all,
		},
		{
			name: "affinity to a zone with a db", pod: st.Pod("p", affinity(st.Term("app", "db", zone))),
			existing: []*corev1.Pod{db, web}, pass: map[string]bool{"a1": true, "a2": true},
			reason: ErrReasonAffinityRulesNotMatch,
		},
		{
			name: "affinity by hostname", pod: st.Pod("p", affinity(st.Term("app", "db", corev1.LabelHostname))),
			existing: []*corev1.Pod{db, web}, pass: map[string]bool{"a1": true},
			reason: ErrReasonAffinityRulesNotMatch,
		},
		{
			name: "affinity to nothing running fails", pod: st.Pod("p", affinity(st.Term("app", "cache", zone))),
			existing: []*corev1.Pod{db}, pass: map[string]bool{}, reason: ErrReasonAffinityRulesNotMatch,
		},
		{
			name:     "the first pod of a group with affinity to itself goes anywhere",
			pod:      st.Pod("p", st.PodLabels("app", "cache"), affinity(st.Term("app", "cache", zone))),
			existing: []*corev1.Pod{db}, pass: all,
		},
		{
			name:     "the first pod of a group by hostname too",
			pod:      st.Pod("p", st.PodLabels("app", "cache"), affinity(st.Term("app", "cache", corev1.LabelHostname))),
			existing: []*corev1.Pod{db}, pass: all,
		},
		{
			name: "anti-affinity by hostname", pod: st.Pod("p", antiAffinity(st.Term("app", "web", corev1.LabelHostname))),
			existing: []*corev1.Pod{db, web}, pass: map[string]bool{"a1": true, "a2": true, "b2": true},
			reason: ErrReasonAntiAffinityRulesNotMatch,
		},
		{
			name: "anti-affinity by zone", pod: st.Pod("p", antiAffinity(st.Term("app", "web", zone))),
			existing: []*corev1.Pod{db, web}, pass: map[string]bool{"a1": true, "a2": true},
			reason: ErrReasonAntiAffinityRulesNotMatch,
		},
		{
			name: "running pods' anti-affinity by hostname", pod: st.Pod("p", st.PodLabels("app", "p")),
			existing: []*corev1.Pod{st.Pod("x", st.OnNode("a1"), antiAffinity(st.Term("app", "p", corev1.LabelHostname)))},
			pass:     map[string]bool{"a2": true, "b1": true, "b2": true}, reason: ErrReasonExistingAntiAffinityRulesNotMatch,
		},
		{
			name: "running pods' anti-affinity by zone", pod: st.Pod("p", st.PodLabels("app", "p")),
			existing: []*corev1.Pod{st.Pod("x", st.OnNode("a1"), antiAffinity(st.Term("app", "p", zone)))},
			pass:     map[string]bool{"b1": true, "b2": true}, reason: ErrReasonExistingAntiAffinityRulesNotMatch,
		},
		{
			name: "running pods' anti-affinity does not select other labels", pod: st.Pod("p", st.PodLabels("app", "q")),
			existing: []*corev1.Pod{st.Pod("x", st.OnNode("a1"), antiAffinity(st.Term("app", "p", zone)))},
			pass:     all,
		},
		{
			name: "anti-affinity only within the pod's namespace", pod: st.Pod("p", antiAffinity(st.Term("app", "web", corev1.LabelHostname))),
			existing: []*corev1.Pod{st.Pod("web", st.Namespace("other"), st.PodLabels("app", "web"), st.OnNode("b1"))},
			pass:     all,
		},
		{
			name: "anti-affinity in named namespaces",
			pod: st.Pod("p", antiAffinity(func() corev1.PodAffinityTerm {
				t := st.Term("app", "web", corev1.LabelHostname)
				t.Namespaces = []string{"other"}
				return t
			}())),
			existing: []*corev1.Pod{st.Pod("web", st.Namespace("other"), st.PodLabels("app", "web"), st.OnNode("b1"))},
			pass:     map[string]bool{"a1": true, "a2": true, "b2": true}, reason: ErrReasonAntiAffinityRulesNotMatch,
		},
		{
			name: "a selector the scheduler cannot parse keeps the pod pending",
			pod: st.Pod("p", antiAffinity(corev1.PodAffinityTerm{TopologyKey: zone, LabelSelector: &metav1.LabelSelector{
				MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Bogus"}},
			}})),
			pass: map[string]bool{}, reason: "parsing pod",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for n, s := range st.Filter(New(nil), tt.pod, tt.existing, nodes) {
				if s.IsSuccess() != tt.pass[n] {
					t.Errorf("%s: %v", n, s)
				}
				if !s.IsSuccess() && !strings.HasPrefix(s.Message(), tt.reason) {
					t.Errorf("%s: reason %q, want %q", n, s.Message(), tt.reason)
				}
			}
		})
	}
}

// TestAddRemovePod: what-if evaluations (preemption, nominated pods)
// see pods added and removed.
func TestAddRemovePod(t *testing.T) {
	web := st.Pod("web", st.PodLabels("app", "web"), st.OnNode("b1"))
	pod := st.Pod("p", antiAffinity(st.Term("app", "web", zone)))
	snap := framework.NewSnapshotFromObjects([]*corev1.Pod{web}, nodes)
	pl := New(nil)
	state := framework.NewCycleState()
	pi := framework.NewPodInfo(pod)
	if _, s := pl.PreFilter(t.Context(), state, pi, snap); !s.IsSuccess() {
		t.Fatal(s)
	}
	b2 := snap.Get("b2")
	if s := pl.Filter(state, pi, b2); s.IsSuccess() {
		t.Fatal("b2 passed with web in zone b")
	}
	removed := state.Clone()
	if s := pl.RemovePod(removed, pi, framework.NewPodInfo(web), snap.Get("b1")); !s.IsSuccess() {
		t.Fatal(s)
	}
	if s := pl.Filter(removed, pi, b2); !s.IsSuccess() {
		t.Errorf("b2 with web removed: %v", s)
	}
	if s := pl.Filter(state, pi, b2); s.IsSuccess() {
		t.Error("the clone's change leaked into the original state")
	}
	added := state.Clone()
	other := st.Pod("web2", st.PodLabels("app", "web"), st.OnNode("a1"))
	if s := pl.AddPod(added, pi, framework.NewPodInfo(other), snap.Get("a1")); !s.IsSuccess() {
		t.Fatal(s)
	}
	if s := pl.Filter(added, pi, snap.Get("a2")); s.IsSuccess() {
		t.Error("a2 passed with web added in zone a")
	}
}

func TestScore(t *testing.T) {
	db := st.Pod("db", st.PodLabels("app", "db"), st.OnNode("a1"))
	preferred := func(weight int32, anti bool, term corev1.PodAffinityTerm) st.PodOpt {
		w := []corev1.WeightedPodAffinityTerm{{Weight: weight, PodAffinityTerm: term}}
		if anti {
			return st.Affinity(&corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: w}})
		}
		return st.Affinity(&corev1.Affinity{PodAffinity: &corev1.PodAffinity{PreferredDuringSchedulingIgnoredDuringExecution: w}})
	}
	tests := []struct {
		name     string
		pod      *corev1.Pod
		existing []*corev1.Pod
		want     map[string]int64 // nil: skipped
	}{
		{name: "nothing to weigh", pod: st.Pod("p"), existing: []*corev1.Pod{db}},
		{
			name: "preferred affinity to the db's zone", pod: st.Pod("p", preferred(10, false, st.Term("app", "db", zone))),
			existing: []*corev1.Pod{db}, want: map[string]int64{"a1": 100, "a2": 100, "b1": 0, "b2": 0},
		},
		{
			name: "preferred anti-affinity to the db's host", pod: st.Pod("p", preferred(10, true, st.Term("app", "db", corev1.LabelHostname))),
			existing: []*corev1.Pod{db}, want: map[string]int64{"a1": 0, "a2": 100, "b1": 100, "b2": 100},
		},
		{
			name: "a running pod's preferred affinity draws the pod", pod: st.Pod("p", st.PodLabels("app", "p")),
			existing: []*corev1.Pod{st.Pod("x", st.OnNode("b2"), preferred(5, false, st.Term("app", "p", corev1.LabelHostname)))},
			want:     map[string]int64{"a1": 0, "a2": 0, "b1": 0, "b2": 100},
		},
		{
			name: "a running pod's required affinity counts with weight 1", pod: st.Pod("p", st.PodLabels("app", "p")),
			existing: []*corev1.Pod{st.Pod("x", st.OnNode("b2"), affinity(st.Term("app", "p", zone)))},
			want:     map[string]int64{"a1": 0, "a2": 0, "b1": 100, "b2": 100},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.Score(New(nil), tt.pod, tt.existing, nodes)
			if err != nil {
				t.Fatal(err)
			}
			if (got == nil) != (tt.want == nil) {
				t.Fatalf("scores %v, want %v", got, tt.want)
			}
			for n, v := range tt.want {
				if got[n] != v {
					t.Errorf("%s scored %d, want %d", n, got[n], v)
				}
			}
		})
	}
}
