package noderesources

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kemudi/kemudi/internal/scheduler/framework"
	st "github.com/kemudi/kemudi/internal/scheduler/schedtest"
)

func TestFitFilter(t *testing.T) {
	small := st.Node("small", st.Allocatable("1", "1Gi", "2"))
	gpu := st.Node("gpu", st.Allocatable("4", "4Gi", "10"), st.Extended("example.com/gpu", "2"))
	withInit := func(cpu string) st.PodOpt {
		return func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox", Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}}}}
		}
	}
	overhead := func(cpu string) st.PodOpt {
		return func(p *corev1.Pod) {
			p.Spec.Overhead = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}
		}
	}
	tests := []struct {
		name     string
		pod      *corev1.Pod
		existing []*corev1.Pod
		node     *corev1.Node
		code     framework.Code
		reasons  []string
	}{
		{name: "fits an empty node", pod: st.Pod("p", st.Req("500m", "512Mi")), node: small},
		{name: "no requests fit anywhere with room for a pod", pod: st.Pod("p"), node: small},
		{
			name: "cpu taken by a running pod", pod: st.Pod("p", st.Req("600m", "")), node: small,
			existing: []*corev1.Pod{st.Pod("a", st.Req("500m", ""), st.OnNode("small"))},
			code:     framework.Unschedulable, reasons: []string{"Insufficient cpu"},
		},
		{
			name: "more than the node has is unresolvable", pod: st.Pod("p", st.Req("2", "2Gi")), node: small,
			code: framework.UnschedulableAndUnresolvable, reasons: []string{"Insufficient cpu", "Insufficient memory"},
		},
		{
			name: "pod count", pod: st.Pod("p"), node: small,
			existing: []*corev1.Pod{st.Pod("a", st.OnNode("small")), st.Pod("b", st.OnNode("small"))},
			code:     framework.Unschedulable, reasons: []string{"Too many pods"},
		},
		{
			name: "init container larger than the containers counts", pod: st.Pod("p", st.Req("100m", ""), withInit("1500m")), node: small,
			code: framework.UnschedulableAndUnresolvable, reasons: []string{"Insufficient cpu"},
		},
		{
			name: "overhead counts", pod: st.Pod("p", st.Req("900m", ""), overhead("200m")), node: small,
			code: framework.UnschedulableAndUnresolvable, reasons: []string{"Insufficient cpu"},
		},
		{
			name: "extended resource fits", node: gpu,
			pod: st.Pod("p", st.ReqList(corev1.ResourceList{"example.com/gpu": resource.MustParse("2")})),
		},
		{
			name: "extended resource taken", node: gpu,
			pod:      st.Pod("p", st.ReqList(corev1.ResourceList{"example.com/gpu": resource.MustParse("1")})),
			existing: []*corev1.Pod{st.Pod("a", st.OnNode("gpu"), st.ReqList(corev1.ResourceList{"example.com/gpu": resource.MustParse("2")}))},
			code:     framework.Unschedulable, reasons: []string{"Insufficient example.com/gpu"},
		},
		{
			name: "extended resource the node lacks", node: small,
			pod:  st.Pod("p", st.ReqList(corev1.ResourceList{"example.com/gpu": resource.MustParse("1")})),
			code: framework.UnschedulableAndUnresolvable, reasons: []string{"Insufficient example.com/gpu"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := st.Filter(NewFit(), tt.pod, tt.existing, []*corev1.Node{tt.node})[tt.node.Name]
			if s.Code() != tt.code {
				t.Fatalf("code %v, want %v (%v)", s.Code(), tt.code, s)
			}
			if got := s.Reasons(); len(got) != len(tt.reasons) || (len(got) > 0 && got[0] != tt.reasons[0]) || (len(got) > 1 && got[1] != tt.reasons[1]) {
				t.Errorf("reasons %q, want %q", got, tt.reasons)
			}
			if s != nil && s.Plugin() != FitName {
				t.Errorf("plugin %q", s.Plugin())
			}
		})
	}
}

// node is upstream's test node: milli-cpu and bytes of memory.
func node(name string, milliCPU, memory int64) *corev1.Node {
	return st.Node(name, func(n *corev1.Node) {
		n.Status.Allocatable = corev1.ResourceList{
			corev1.ResourceCPU:    *resource.NewMilliQuantity(milliCPU, resource.DecimalSI),
			corev1.ResourceMemory: *resource.NewQuantity(memory, resource.BinarySI),
			corev1.ResourcePods:   resource.MustParse("32"),
		}
	})
}

func req(cpu, memory string) st.PodOpt { return st.Req(cpu, memory) }

// The expected scores are upstream's test cases (least_allocated_test.go
// and balanced_allocation_test.go).
func TestScores(t *testing.T) {
	tests := []struct {
		name     string
		plugin   framework.Plugin
		pod      *corev1.Pod
		existing []*corev1.Pod
		nodes    []*corev1.Node
		want     map[string]int64 // nil: skipped
	}{
		{
			name: "least allocated, nothing scheduled, differently sized nodes", plugin: NewFit(),
			pod:   st.Pod("p", req("3000m", "5000")),
			nodes: []*corev1.Node{node("node1", 4000, 10000), node("node2", 6000, 10000)},
			want:  map[string]int64{"node1": 37, "node2": 50},
		},
		{
			name: "least allocated counts unset requests as 100m and 200Mi", plugin: NewFit(),
			pod:   st.Pod("p"),
			nodes: []*corev1.Node{node("node1", 1000, 2000<<20), node("node2", 2000, 4000<<20)},
			want:  map[string]int64{"node1": 90, "node2": 95},
		},
		{
			name: "least allocated, request above capacity scores 0", plugin: NewFit(),
			pod:   st.Pod("p", req("5000m", "5000")),
			nodes: []*corev1.Node{node("node1", 4000, 10000)},
			want:  map[string]int64{"node1": 25},
		},
		{
			name: "balanced skips best-effort pods", plugin: NewBalanced(),
			pod: st.Pod("p"), nodes: []*corev1.Node{node("node1", 4000, 10000)},
		},
		{
			name: "balanced, nothing scheduled, differently sized nodes", plugin: NewBalanced(),
			pod:   st.Pod("p", req("3000m", "5000")),
			nodes: []*corev1.Node{node("node1", 4000, 10000), node("node2", 6000, 10000)},
			want:  map[string]int64{"node1": 68, "node2": 75},
		},
		{
			name: "balanced, pods scheduled", plugin: NewBalanced(),
			pod:   st.Pod("p", req("3000m", "5000")),
			nodes: []*corev1.Node{node("node1", 10000, 20000), node("node2", 10000, 20000)},
			existing: []*corev1.Pod{
				st.Pod("a", st.OnNode("node1"), req("3000m", "")),
				st.Pod("b", st.OnNode("node2"), req("3000m", "5000")),
			},
			want: map[string]int64{"node1": 73, "node2": 74},
		},
		{
			name: "balanced, reaching the bounds", plugin: NewBalanced(),
			pod:      st.Pod("p", req("", "5000")),
			nodes:    []*corev1.Node{node("node1", 3000, 5000), node("node2", 3000, 5000)},
			existing: []*corev1.Pod{st.Pod("a", st.OnNode("node1"), req("3000m", ""))},
			want:     map[string]int64{"node1": 100, "node2": 50},
		},
		{
			name: "balanced, requests at node capacity", plugin: NewBalanced(),
			pod:   st.Pod("p", req("3000m", "")),
			nodes: []*corev1.Node{node("node1", 6000, 10000), node("node2", 6000, 10000)},
			existing: []*corev1.Pod{
				st.Pod("a", st.OnNode("node1"), req("3000m", "")),
				st.Pod("b", st.OnNode("node2"), req("3000m", "5000")),
			},
			want: map[string]int64{"node1": 62, "node2": 62},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.Score(tt.plugin, tt.pod, tt.existing, tt.nodes)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
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
