package podtopologyspread

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	st "github.com/kemudi/kemudi/internal/scheduler/schedtest"
)

const zone = corev1.LabelTopologyZone

var nodes = []*corev1.Node{
	st.Node("a1", st.Zone("a")), st.Node("a2", st.Zone("a")),
	st.Node("b1", st.Zone("b")), st.Node("b2", st.Zone("b")),
}

func web(name, node string) *corev1.Pod {
	return st.Pod(name, st.PodLabels("app", "web"), st.OnNode(node))
}

func TestFilter(t *testing.T) {
	hard := func(skew int32, key string) st.PodOpt {
		return st.Spread(skew, key, corev1.DoNotSchedule, "app", "web")
	}
	withMin := func(n int32) st.PodOpt {
		return func(p *corev1.Pod) { p.Spec.TopologySpreadConstraints[0].MinDomains = &n }
	}
	tests := []struct {
		name     string
		pod      *corev1.Pod
		existing []*corev1.Pod
		nodes    []*corev1.Node
		pass     map[string]bool
		reason   string
	}{
		{
			name: "zone a is ahead by one", pod: st.Pod("p", st.PodLabels("app", "web"), hard(1, zone)),
			existing: []*corev1.Pod{web("w1", "a1")},
			pass:     map[string]bool{"b1": true, "b2": true}, reason: ErrReasonConstraintsNotMatch,
		},
		{
			name: "maxSkew 2 allows it", pod: st.Pod("p", st.PodLabels("app", "web"), hard(2, zone)),
			existing: []*corev1.Pod{web("w1", "a1")},
			pass:     map[string]bool{"a1": true, "a2": true, "b1": true, "b2": true},
		},
		{
			name: "a pod outside the selector does not count itself", pod: st.Pod("p", hard(1, zone)),
			existing: []*corev1.Pod{web("w1", "a1")},
			pass:     map[string]bool{"a1": true, "a2": true, "b1": true, "b2": true},
		},
		{
			name: "by hostname", pod: st.Pod("p", st.PodLabels("app", "web"), hard(1, corev1.LabelHostname)),
			existing: []*corev1.Pod{web("w1", "a1"), web("w2", "a2"), web("w3", "b1")},
			pass:     map[string]bool{"b2": true}, reason: ErrReasonConstraintsNotMatch,
		},
		{
			name: "nodes without the key are rejected", pod: st.Pod("p", st.PodLabels("app", "web"), hard(1, zone)),
			nodes: []*corev1.Node{st.Node("a1", st.Zone("a")), st.Node("nozone")},
			pass:  map[string]bool{"a1": true}, reason: ErrReasonNodeLabelNotMatch,
		},
		{
			name: "minDomains above the domains makes the minimum 0", pod: st.Pod("p", st.PodLabels("app", "web"), hard(1, zone), withMin(3)),
			existing: []*corev1.Pod{web("w1", "a1"), web("w2", "b1")},
			pass:     map[string]bool{}, reason: ErrReasonConstraintsNotMatch,
		},
		{
			name: "nodes the pod's node selector excludes are no domains",
			pod:  st.Pod("p", st.PodLabels("app", "web"), hard(1, zone), st.NodeSelector("disk", "ssd")),
			nodes: []*corev1.Node{
				st.Node("a1", st.Zone("a"), st.NodeLabels("disk", "ssd")),
				st.Node("b1", st.Zone("b")),
			},
			existing: []*corev1.Pod{web("w1", "b1")},
			pass:     map[string]bool{"a1": true, "b1": true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := tt.nodes
			if ns == nil {
				ns = nodes
			}
			for n, s := range st.Filter(New(Listers{}), tt.pod, tt.existing, ns) {
				if s.IsSuccess() != tt.pass[n] {
					t.Errorf("%s: %v", n, s)
				}
				if !s.IsSuccess() && s.Message() != tt.reason {
					t.Errorf("%s: reason %q, want %q", n, s.Message(), tt.reason)
				}
			}
		})
	}
}

func TestScore(t *testing.T) {
	soft := func(key string) st.PodOpt { return st.Spread(1, key, corev1.ScheduleAnyway, "app", "web") }
	tests := []struct {
		name     string
		pod      *corev1.Pod
		existing []*corev1.Pod
		want     map[string]int64
	}{
		{name: "no soft constraints", pod: st.Pod("p")},
		{
			name: "by zone: the empty zone wins", pod: st.Pod("p", st.PodLabels("app", "web"), soft(zone)),
			existing: []*corev1.Pod{web("w1", "a1"), web("w2", "a2")},
			want:     map[string]int64{"a1": 0, "a2": 0, "b1": 100, "b2": 100},
		},
		{
			name: "by hostname", pod: st.Pod("p", st.PodLabels("app", "web"), soft(corev1.LabelHostname)),
			existing: []*corev1.Pod{web("w1", "a1"), web("w2", "a1"), web("w3", "a2")},
			want:     map[string]int64{"a1": 0, "a2": 50, "b1": 100, "b2": 100},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.Score(New(Listers{}), tt.pod, tt.existing, nodes)
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

// TestDefaultConstraints: a pod a Service selects spreads by the
// system defaults even without constraints of its own.
func TestDefaultConstraints(t *testing.T) {
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	if err := idx.Add(&corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "web"}},
	}); err != nil {
		t.Fatal(err)
	}
	pl := New(Listers{Services: corelisters.NewServiceLister(idx)})
	got, err := st.Score(pl, st.Pod("p", st.PodLabels("app", "web")), []*corev1.Pod{web("w1", "a1"), web("w2", "a1")}, nodes)
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || got["a1"] >= got["b1"] || got["a2"] >= got["b1"] {
		t.Errorf("scores %v: want zone b above zone a, a1 lowest", got)
	}
	if got, _ := st.Score(pl, st.Pod("q", st.PodLabels("app", "other")), nil, nodes); got != nil {
		t.Errorf("a pod no workload selects scored %v", got)
	}
}
