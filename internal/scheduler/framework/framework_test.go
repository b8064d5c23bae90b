package framework_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/kemudi/kemudi/internal/scheduler"
	"github.com/kemudi/kemudi/internal/scheduler/framework"
	st "github.com/kemudi/kemudi/internal/scheduler/schedtest"
)

func newFramework(opts framework.Options) *framework.Framework {
	plugins, weights := scheduler.DefaultPlugins(nil)
	if opts.Rand == nil {
		opts.Rand = rand.New(rand.NewPCG(1, 2))
	}
	return framework.New(plugins, weights, opts)
}

func schedule(t *testing.T, fw *framework.Framework, pod *corev1.Pod, pods []*corev1.Pod, nodes []*corev1.Node) (framework.ScheduleResult, error) {
	t.Helper()
	snap := framework.NewSnapshotFromObjects(pods, nodes)
	return fw.Schedule(context.Background(), framework.NewCycleState(), framework.NewPodInfo(pod), snap)
}

// TestFailureMessage is the example: the reasons of every node,
// counted, in upstream's format.
func TestFailureMessage(t *testing.T) {
	nodes := []*corev1.Node{
		st.Node("node-1", st.Allocatable("4", "1Gi", "110")),
		st.Node("node-2", st.Taint("dedicated", "gpu", corev1.TaintEffectNoSchedule)),
		st.Node("node-3", st.Taint("dedicated", "gpu", corev1.TaintEffectNoSchedule)),
	}
	_, err := schedule(t, newFramework(framework.Options{}), st.Pod("big", st.Req("1", "2Gi")), nil, nodes)
	var fe *framework.FitError
	if !errors.As(err, &fe) {
		t.Fatalf("err %v, want a FitError", err)
	}
	want := "0/3 nodes are available: 1 Insufficient memory, 2 node(s) had untolerated taint {dedicated: gpu}."
	if fe.Error() != want {
		t.Errorf("message\n%q, want\n%q", fe.Error(), want)
	}
	if !fe.Diagnosis.UnschedulablePlugins.Has("NodeResourcesFit") || !fe.Diagnosis.UnschedulablePlugins.Has("TaintToleration") {
		t.Errorf("unschedulable plugins %v", fe.Diagnosis.UnschedulablePlugins)
	}
}

func TestPreFilterMessage(t *testing.T) {
	pod := st.Pod("p", st.Affinity(&corev1.Affinity{PodAffinity: &corev1.PodAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{st.Term("app", "db", corev1.LabelTopologyZone)},
	}}))
	_, err := schedule(t, newFramework(framework.Options{}), pod, nil, []*corev1.Node{st.Node("a", st.Zone("z")), st.Node("b", st.Zone("z"))})
	want := "0/2 nodes are available: 2 node(s) didn't match pod affinity rules."
	if err == nil || err.Error() != want {
		t.Errorf("err %v, want %q", err, want)
	}
	if _, err := schedule(t, newFramework(framework.Options{}), st.Pod("p"), nil, nil); !errors.Is(err, framework.ErrNoNodesAvailable) {
		t.Errorf("no nodes: err %v", err)
	}
}

// TestScores: the default weights rank nodes as upstream's would.
func TestScores(t *testing.T) {
	tests := []struct {
		name  string
		pod   *corev1.Pod
		pods  []*corev1.Pod
		nodes []*corev1.Node
		want  string
	}{
		{
			name: "least allocated wins",
			pod:  st.Pod("p", st.Req("500m", "1Gi")),
			pods: []*corev1.Pod{st.Pod("a", st.Req("2", "8Gi"), st.OnNode("busy"))},
			nodes: []*corev1.Node{
				st.Node("busy"), st.Node("idle"),
			},
			want: "idle",
		},
		{
			name: "preferred node affinity outweighs load",
			pod: st.Pod("p", st.Req("500m", "1Gi"), st.Affinity(&corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
				PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{Weight: 50, Preference: corev1.NodeSelectorTerm{
					MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "disk", Operator: corev1.NodeSelectorOpIn, Values: []string{"ssd"}}},
				}}},
			}})),
			pods:  []*corev1.Pod{st.Pod("a", st.Req("2", "8Gi"), st.OnNode("ssd"))},
			nodes: []*corev1.Node{st.Node("ssd", st.NodeLabels("disk", "ssd")), st.Node("hdd")},
			want:  "ssd",
		},
		{
			name:  "PreferNoSchedule taints push pods away",
			pod:   st.Pod("p", st.Req("100m", "100Mi")),
			nodes: []*corev1.Node{st.Node("soft", st.Taint("x", "", corev1.TaintEffectPreferNoSchedule)), st.Node("clean")},
			want:  "clean",
		},
		{
			name:  "image locality breaks a tie",
			pod:   st.Pod("p", st.Req("100m", "100Mi"), st.Image("app:v1")),
			nodes: []*corev1.Node{st.Node("cold"), st.Node("warm", st.Images(map[string]int64{"app:v1": 800}))},
			want:  "warm",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := schedule(t, newFramework(framework.Options{}), tt.pod, tt.pods, tt.nodes)
			if err != nil {
				t.Fatal(err)
			}
			if res.Node != tt.want {
				t.Errorf("node %s, want %s", res.Node, tt.want)
			}
		})
	}
}

func TestNumFeasibleNodesToFind(t *testing.T) {
	tests := []struct {
		percentage int32
		nodes      int
		want       int
	}{
		{0, 10, 10},
		{0, 99, 99},
		{0, 100, 100},
		{0, 1000, 420},
		{0, 5000, 500},
		{0, 6000, 300},
		{0, 10000, 500},
		{0, 200, 100},
		{0, 300, 144},
		{10, 5000, 500},
		{1, 5000, 100},
		{100, 5000, 5000},
	}
	for _, tt := range tests {
		if got := framework.NumFeasibleNodesToFind(tt.percentage, tt.nodes); got != tt.want {
			t.Errorf("NumFeasibleNodesToFind(%d, %d) = %d, want %d", tt.percentage, tt.nodes, got, tt.want)
		}
	}
}

// TestSampling: in a big cluster a cycle filters only as many nodes as
// it needs, and the next cycle starts where it stopped.
func TestSampling(t *testing.T) {
	var nodes []*corev1.Node
	for i := range 1000 {
		nodes = append(nodes, st.Node(fmt.Sprintf("n%04d", i)))
	}
	snap := framework.NewSnapshotFromObjects(nil, nodes)
	for _, parallelism := range []int{1, 4} {
		fw := newFramework(framework.Options{Parallelism: parallelism})
		seen := map[string]bool{}
		for range 3 {
			res, err := fw.Schedule(context.Background(), framework.NewCycleState(), framework.NewPodInfo(st.Pod("p", st.Req("100m", "100Mi"))), snap)
			if err != nil {
				t.Fatal(err)
			}
			if res.Feasible != 420 || res.Evaluated < 420 || res.Evaluated > 420+parallelism*40 {
				t.Errorf("parallelism %d: evaluated %d, feasible %d; want 420 feasible", parallelism, res.Evaluated, res.Feasible)
			}
			seen[res.Node] = true
		}
		if len(seen) < 2 {
			t.Errorf("parallelism %d: three cycles picked %v; the scan should move on", parallelism, seen)
		}
	}
}

// TestNominatedPods: a pod nominated to a node by preemption keeps its
// room from pods of lower priority, not from pods of higher.
func TestNominatedPods(t *testing.T) {
	nodes := []*corev1.Node{st.Node("n", st.Allocatable("1", "1Gi", "10"))}
	nominated := framework.NewPodInfo(st.Pod("vip", st.Req("800m", ""), st.Priority(100)))
	fw := newFramework(framework.Options{Nominator: fixedNominator{"n": {nominated}}})
	if _, err := schedule(t, fw, st.Pod("low", st.Req("500m", ""), st.Priority(10)), nil, nodes); err == nil {
		t.Error("a lower-priority pod took the nominated pod's room")
	}
	if res, err := schedule(t, fw, st.Pod("high", st.Req("500m", ""), st.Priority(1000)), nil, nodes); err != nil || res.Node != "n" {
		t.Errorf("a higher-priority pod: %v, %v", res, err)
	}
}

type fixedNominator map[string][]*framework.PodInfo

func (f fixedNominator) NominatedPods() map[string][]*framework.PodInfo { return f }

func (f fixedNominator) NominatedPodsForNode(node string) []*framework.PodInfo { return f[node] }
