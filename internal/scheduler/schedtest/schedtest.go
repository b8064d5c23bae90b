// Package schedtest builds the pods and nodes of the scheduler's
// table tests, and runs one plugin or the whole default profile on them.
package schedtest

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kemudi/kemudi/internal/scheduler/framework"
)

// PodOpt changes a pod under construction.
type PodOpt func(*corev1.Pod)

// Pod returns a pod in namespace "default" with one container and no
// requests, changed by opts.
func Pod(name string, opts ...PodOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Req sets the first container's cpu and memory requests ("" leaves
// one unset).
func Req(cpu, memory string) PodOpt {
	return func(p *corev1.Pod) {
		rl := corev1.ResourceList{}
		if cpu != "" {
			rl[corev1.ResourceCPU] = resource.MustParse(cpu)
		}
		if memory != "" {
			rl[corev1.ResourceMemory] = resource.MustParse(memory)
		}
		p.Spec.Containers[0].Resources.Requests = rl
	}
}

// ReqList sets the first container's requests.
func ReqList(rl corev1.ResourceList) PodOpt {
	return func(p *corev1.Pod) { p.Spec.Containers[0].Resources.Requests = rl }
}

// PodLabels sets labels from key, value pairs.
func PodLabels(kv ...string) PodOpt {
	return func(p *corev1.Pod) { p.Labels = pairs(kv) }
}

// Namespace sets the namespace.
func Namespace(ns string) PodOpt { return func(p *corev1.Pod) { p.Namespace = ns } }

// OnNode binds the pod to a node.
func OnNode(node string) PodOpt { return func(p *corev1.Pod) { p.Spec.NodeName = node } }

// Priority sets the pod's resolved priority.
func Priority(v int32) PodOpt { return func(p *corev1.Pod) { p.Spec.Priority = &v } }

// HostPort adds a container port taking a host port.
func HostPort(port int32) PodOpt {
	return func(p *corev1.Pod) {
		p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, corev1.ContainerPort{ContainerPort: port, HostPort: port, Protocol: corev1.ProtocolTCP})
	}
}

// Image sets the first container's image.
func Image(image string) PodOpt { return func(p *corev1.Pod) { p.Spec.Containers[0].Image = image } }

// NodeSelector sets spec.nodeSelector from key, value pairs.
func NodeSelector(kv ...string) PodOpt {
	return func(p *corev1.Pod) { p.Spec.NodeSelector = pairs(kv) }
}

// Toleration adds a toleration (an empty value tolerates with Exists).
func Toleration(key, value string, effect corev1.TaintEffect) PodOpt {
	return func(p *corev1.Pod) {
		t := corev1.Toleration{Key: key, Value: value, Effect: effect, Operator: corev1.TolerationOpEqual}
		if value == "" {
			t.Operator = corev1.TolerationOpExists
		}
		p.Spec.Tolerations = append(p.Spec.Tolerations, t)
	}
}

// Affinity sets spec.affinity.
func Affinity(a *corev1.Affinity) PodOpt { return func(p *corev1.Pod) { p.Spec.Affinity = a } }

// Spread adds a topology spread constraint on pods with the given label.
func Spread(maxSkew int32, key string, when corev1.UnsatisfiableConstraintAction, labelKey, labelValue string) PodOpt {
	return func(p *corev1.Pod) {
		p.Spec.TopologySpreadConstraints = append(p.Spec.TopologySpreadConstraints, corev1.TopologySpreadConstraint{
			MaxSkew: maxSkew, TopologyKey: key, WhenUnsatisfiable: when,
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{labelKey: labelValue}},
		})
	}
}

// Term is a pod affinity term on pods with label key=value by topology.
func Term(key, value, topology string) corev1.PodAffinityTerm {
	return corev1.PodAffinityTerm{
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{key: value}},
		TopologyKey:   topology,
	}
}

// NodeOpt changes a node under construction.
type NodeOpt func(*corev1.Node)

// Node returns a node with 4 cpus, 16Gi of memory and room for 110
// pods, labelled with its hostname, changed by opts.
func Node(name string, opts ...NodeOpt) *corev1.Node {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name}},
		Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("4"),
			corev1.ResourceMemory: resource.MustParse("16Gi"),
			corev1.ResourcePods:   resource.MustParse("110"),
		}},
	}
	for _, o := range opts {
		o(n)
	}
	return n
}

// Allocatable sets a node's allocatable resources.
func Allocatable(cpu, memory, pods string) NodeOpt {
	return func(n *corev1.Node) {
		n.Status.Allocatable = corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse(cpu),
			corev1.ResourceMemory: resource.MustParse(memory),
			corev1.ResourcePods:   resource.MustParse(pods),
		}
	}
}

// Extended adds an allocatable extended resource.
func Extended(name string, qty string) NodeOpt {
	return func(n *corev1.Node) { n.Status.Allocatable[corev1.ResourceName(name)] = resource.MustParse(qty) }
}

// NodeLabels adds labels from key, value pairs.
func NodeLabels(kv ...string) NodeOpt {
	return func(n *corev1.Node) {
		for k, v := range pairs(kv) {
			n.Labels[k] = v
		}
	}
}

// Zone puts the node in a zone.
func Zone(zone string) NodeOpt { return NodeLabels(corev1.LabelTopologyZone, zone) }

// Taint adds a taint.
func Taint(key, value string, effect corev1.TaintEffect) NodeOpt {
	return func(n *corev1.Node) {
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: key, Value: value, Effect: effect})
	}
}

// Unschedulable cordons the node.
func Unschedulable() NodeOpt { return func(n *corev1.Node) { n.Spec.Unschedulable = true } }

// Images sets the images the node reports, with their sizes in MiB.
func Images(sizes map[string]int64) NodeOpt {
	return func(n *corev1.Node) {
		for name, mb := range sizes {
			n.Status.Images = append(n.Status.Images, corev1.ContainerImage{Names: []string{name}, SizeBytes: mb << 20})
		}
	}
}

func pairs(kv []string) map[string]string {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		v := ""
		if i+1 < len(kv) {
			v = kv[i+1]
		}
		m[kv[i]] = v
	}
	return m
}

// Filter runs a plugin's PreFilter and then its Filter on every node,
// as a cycle would, and returns each node's status (nil for a pass).
// A PreFilter rejection is every node's status; a Skip passes all.
func Filter(p framework.Plugin, pod *corev1.Pod, pods []*corev1.Pod, nodes []*corev1.Node) map[string]*framework.Status {
	snap := framework.NewSnapshotFromObjects(pods, nodes)
	state := framework.NewCycleState()
	pi := framework.NewPodInfo(pod)
	out := map[string]*framework.Status{}
	if pf, ok := p.(framework.PreFilterPlugin); ok {
		res, s := pf.PreFilter(context.Background(), state, pi, snap)
		for _, n := range nodes {
			switch {
			case s.IsSkip():
				out[n.Name] = nil
			case !s.IsSuccess():
				out[n.Name] = s
			case res != nil && res.NodeNames != nil && !res.NodeNames.Has(n.Name):
				out[n.Name] = framework.NewStatus(framework.UnschedulableAndUnresolvable, "excluded by PreFilter")
			}
		}
		if s.IsSkip() || !s.IsSuccess() {
			return out
		}
	}
	fp := p.(framework.FilterPlugin)
	for _, n := range nodes {
		if _, decided := out[n.Name]; decided {
			continue
		}
		out[n.Name] = fp.Filter(state, pi, snap.Get(n.Name))
	}
	return out
}

// Score runs a plugin's PreScore, Score and NormalizeScore on every node
// (all feasible) and returns the normalized scores; nil when the plugin
// skips the pod.
func Score(p framework.Plugin, pod *corev1.Pod, pods []*corev1.Pod, nodes []*corev1.Node) (map[string]int64, error) {
	snap := framework.NewSnapshotFromObjects(pods, nodes)
	state := framework.NewCycleState()
	pi := framework.NewPodInfo(pod)
	var infos []*framework.NodeInfo
	for _, n := range nodes {
		infos = append(infos, snap.Get(n.Name))
	}
	if ps, ok := p.(framework.PreScorePlugin); ok {
		s := ps.PreScore(context.Background(), state, pi, infos, snap)
		if s.IsSkip() {
			return nil, nil
		}
		if !s.IsSuccess() {
			return nil, s.AsError()
		}
	}
	sp := p.(framework.ScorePlugin)
	scores := make([]framework.NodeScore, len(infos))
	for i, ni := range infos {
		v, s := sp.Score(state, pi, ni)
		if !s.IsSuccess() {
			return nil, s.AsError()
		}
		scores[i] = framework.NodeScore{Name: ni.Name(), Score: v}
	}
	if ns, ok := p.(framework.NormalizeScorer); ok {
		if s := ns.NormalizeScore(state, pi, scores); !s.IsSuccess() {
			return nil, s.AsError()
		}
	}
	out := map[string]int64{}
	for _, s := range scores {
		out[s.Name] = s.Score
	}
	return out, nil
}
