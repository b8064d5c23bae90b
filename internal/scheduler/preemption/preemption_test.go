package preemption_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/scheduler"
	"github.com/kemudi/kemudi/internal/scheduler/framework"
	"github.com/kemudi/kemudi/internal/scheduler/preemption"
	st "github.com/kemudi/kemudi/internal/scheduler/schedtest"
)

// evaluate runs a failed cycle for pod and then preemption.
func evaluate(t *testing.T, pod *corev1.Pod, pods []*corev1.Pod, nodes []*corev1.Node, pdbs ...*policyv1.PodDisruptionBudget) preemption.Result {
	t.Helper()
	plugins, weights := scheduler.DefaultPlugins(nil)
	fw := framework.New(plugins, weights, framework.Options{Rand: rand.New(rand.NewPCG(1, 1))})
	snap := framework.NewSnapshotFromObjects(pods, nodes)
	state := framework.NewCycleState()
	pi := framework.NewPodInfo(pod)
	_, err := fw.Schedule(context.Background(), state, pi, snap)
	var fe *framework.FitError
	if !errors.As(err, &fe) {
		t.Fatalf("cycle: %v, want a FitError", err)
	}
	ev := &preemption.Evaluator{Framework: fw, Parallelism: 2, Rand: rand.New(rand.NewPCG(1, 1)),
		PDBs: func() ([]*policyv1.PodDisruptionBudget, error) { return pdbs, nil }}
	res, err := ev.Evaluate(context.Background(), state, pi, snap, &fe.Diagnosis)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func started(ago time.Duration) st.PodOpt {
	return func(p *corev1.Pod) { t := metav1.NewTime(time.Now().Add(-ago)); p.Status.StartTime = &t }
}

func victims(r preemption.Result) []string {
	if r.Candidate == nil {
		return nil
	}
	var out []string
	for _, v := range r.Candidate.Victims {
		out = append(out, v.Name)
	}
	return out
}

func TestPreemption(t *testing.T) {
	small := func(name string) *corev1.Node { return st.Node(name, st.Allocatable("1", "4Gi", "10")) }
	tests := []struct {
		name    string
		pod     *corev1.Pod
		pods    []*corev1.Pod
		nodes   []*corev1.Node
		pdbs    []*policyv1.PodDisruptionBudget
		node    string
		victims []string
		message string
	}{
		{
			name:  "the fewest victims: one big pod rather than two small ones",
			pod:   st.Pod("vip", st.Req("600m", ""), st.Priority(100)),
			nodes: []*corev1.Node{small("a"), small("b")},
			pods: []*corev1.Pod{
				st.Pod("a1", st.Req("500m", ""), st.Priority(1), st.OnNode("a")),
				st.Pod("a2", st.Req("500m", ""), st.Priority(1), st.OnNode("a")),
				st.Pod("b1", st.Req("900m", ""), st.Priority(1), st.OnNode("b")),
			},
			node: "b", victims: []string{"b1"},
			message: "preemption: found a potential placement for pod on node b, preempting 1 victims",
		},
		{
			name:  "only what is needed: the more important pod is spared",
			pod:   st.Pod("vip", st.Req("500m", ""), st.Priority(100)),
			nodes: []*corev1.Node{small("a")},
			pods: []*corev1.Pod{
				st.Pod("old", st.Req("500m", ""), st.Priority(5), st.OnNode("a"), started(time.Hour)),
				st.Pod("new", st.Req("500m", ""), st.Priority(1), st.OnNode("a"), started(time.Minute)),
			},
			node: "a", victims: []string{"new"},
		},
		{
			name:  "lowest priority victims win",
			pod:   st.Pod("vip", st.Req("600m", ""), st.Priority(100)),
			nodes: []*corev1.Node{small("a"), small("b")},
			pods: []*corev1.Pod{
				st.Pod("a1", st.Req("900m", ""), st.Priority(50), st.OnNode("a")),
				st.Pod("b1", st.Req("900m", ""), st.Priority(10), st.OnNode("b")),
			},
			node: "b", victims: []string{"b1"},
		},
		{
			name:  "a disruption budget is respected where possible",
			pod:   st.Pod("vip", st.Req("600m", ""), st.Priority(100)),
			nodes: []*corev1.Node{small("a"), small("b")},
			pods: []*corev1.Pod{
				st.Pod("guarded", st.PodLabels("app", "db"), st.Req("900m", ""), st.Priority(1), st.OnNode("a")),
				st.Pod("free", st.PodLabels("app", "web"), st.Req("900m", ""), st.Priority(10), st.OnNode("b")),
			},
			pdbs: []*policyv1.PodDisruptionBudget{{
				ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default"},
				Spec:       policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}},
				Status:     policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 0},
			}},
			node: "b", victims: []string{"free"},
		},
		{
			name:    "no lower-priority pods: not helpful",
			pod:     st.Pod("vip", st.Req("600m", ""), st.Priority(1)),
			nodes:   []*corev1.Node{small("a")},
			pods:    []*corev1.Pod{st.Pod("a1", st.Req("900m", ""), st.Priority(10), st.OnNode("a"))},
			message: "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
		},
		{
			name:    "a node that could never fit the pod is not a candidate",
			pod:     st.Pod("vip", st.Req("2", ""), st.Priority(100)),
			nodes:   []*corev1.Node{small("a")},
			pods:    []*corev1.Pod{st.Pod("a1", st.Req("900m", ""), st.Priority(1), st.OnNode("a"))},
			message: "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
		},
		{
			name: "preemptionPolicy Never",
			pod: st.Pod("vip", st.Req("600m", ""), st.Priority(100), func(p *corev1.Pod) {
				never := corev1.PreemptNever
				p.Spec.PreemptionPolicy = &never
			}),
			nodes:   []*corev1.Node{small("a")},
			pods:    []*corev1.Pod{st.Pod("a1", st.Req("900m", ""), st.Priority(1), st.OnNode("a"))},
			message: "preemption: not eligible due to preemptionPolicy=Never.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := evaluate(t, tt.pod, tt.pods, tt.nodes, tt.pdbs...)
			if tt.node == "" {
				if res.Candidate != nil {
					t.Fatalf("candidate %s with %v, want none", res.Candidate.Node, victims(res))
				}
			} else {
				if res.Candidate == nil || res.Candidate.Node != tt.node {
					t.Fatalf("result %+v, want node %s", res, tt.node)
				}
				got := victims(res)
				if len(got) != len(tt.victims) {
					t.Fatalf("victims %v, want %v", got, tt.victims)
				}
				for i := range got {
					if got[i] != tt.victims[i] {
						t.Fatalf("victims %v, want %v", got, tt.victims)
					}
				}
			}
			if tt.message != "" && res.Message != tt.message {
				t.Errorf("message %q, want %q", res.Message, tt.message)
			}
		})
	}
}

// TestPreemptionWithAffinity: victims are chosen so that the pod's
// anti-affinity is satisfied too.
func TestPreemptionWithAffinity(t *testing.T) {
	anti := st.Affinity(&corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{st.Term("app", "noisy", corev1.LabelHostname)},
	}})
	res := evaluate(t, st.Pod("vip", st.Priority(100), anti), []*corev1.Pod{
		st.Pod("noisy", st.PodLabels("app", "noisy"), st.Priority(1), st.OnNode("a")),
		st.Pod("quiet", st.PodLabels("app", "quiet"), st.Priority(1), st.OnNode("a")),
	}, []*corev1.Node{st.Node("a")})
	if got := victims(res); len(got) != 1 || got[0] != "noisy" {
		t.Errorf("victims %v, want [noisy]", got)
	}
}
