// Package tainttoleration is the TaintToleration plugin: a node's
// NoSchedule and NoExecute taints keep off pods that do not tolerate
// them; its PreferNoSchedule taints make it score lower for such pods.
package tainttoleration

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/klog/v2"

	"github.com/kemudi/kemudi/internal/scheduler/framework"
)

// Name is the plugin's upstream name.
const Name = "TaintToleration"

// Plugin is TaintToleration.
type Plugin struct {
	// statuses caches the rejection for each untolerated taint, so that
	// a cluster of tainted nodes costs no allocation per node.
	statuses sync.Map // taintKey -> *framework.Status
}

type taintKey struct{ key, value string }

// New returns the plugin.
func New() *Plugin { return &Plugin{} }

// Name implements framework.Plugin.
func (*Plugin) Name() string { return Name }

func doNotSchedule(t *corev1.Taint) bool {
	return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
}

// Filter rejects a node with a NoSchedule or NoExecute taint the pod
// does not tolerate, naming the taint.
func (p *Plugin) Filter(_ *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	taints := node.Taints()
	if len(taints) == 0 {
		return nil
	}
	taint, untolerated := corev1helpers.FindMatchingUntoleratedTaint(klog.Background(), taints, pod.Pod.Spec.Tolerations, doNotSchedule, false)
	if !untolerated {
		return nil
	}
	k := taintKey{taint.Key, taint.Value}
	if s, ok := p.statuses.Load(k); ok {
		return s.(*framework.Status)
	}
	s := framework.NewStatus(framework.UnschedulableAndUnresolvable,
		fmt.Sprintf("node(s) had untolerated taint {%s: %s}", taint.Key, taint.Value)).WithPlugin(Name)
	p.statuses.Store(k, s)
	return s
}

const preScoreKey framework.StateKey = Name

type preScoreState struct{ tolerations []corev1.Toleration }

func (s *preScoreState) Clone() framework.StateData { return s }

// PreScore keeps the pod's tolerations of PreferNoSchedule taints, and
// skips scoring when no feasible node has such a taint (every node
// would score the same).
func (*Plugin) PreScore(_ context.Context, state *framework.CycleState, pod *framework.PodInfo, nodes []*framework.NodeInfo, _ *framework.Snapshot) *framework.Status {
	any := false
	for _, ni := range nodes {
		if hasPreferNoSchedule(ni.Taints()) {
			any = true
			break
		}
	}
	if !any {
		return framework.NewStatus(framework.Skip)
	}
	var tols []corev1.Toleration
	for _, t := range pod.Pod.Spec.Tolerations {
		if t.Effect == "" || t.Effect == corev1.TaintEffectPreferNoSchedule {
			tols = append(tols, t)
		}
	}
	state.Write(preScoreKey, &preScoreState{tolerations: tols})
	return nil
}

func hasPreferNoSchedule(taints []corev1.Taint) bool {
	for i := range taints {
		if taints[i].Effect == corev1.TaintEffectPreferNoSchedule {
			return true
		}
	}
	return false
}

// Score counts the node's PreferNoSchedule taints the pod does not
// tolerate; NormalizeScore turns fewer into better.
func (*Plugin) Score(state *framework.CycleState, _ *framework.PodInfo, node *framework.NodeInfo) (int64, *framework.Status) {
	s, _ := state.Read(preScoreKey).(*preScoreState)
	if s == nil {
		return 0, framework.AsStatus(fmt.Errorf("%s: no PreScore state", Name))
	}
	taints := node.Taints()
	var count int64
	for i := range taints {
		t := &taints[i]
		if t.Effect == corev1.TaintEffectPreferNoSchedule && !corev1helpers.TolerationsTolerateTaint(klog.Background(), s.tolerations, t, false) {
			count++
		}
	}
	return count, nil
}

// NormalizeScore maps the counts onto [0, 100], reversed.
func (*Plugin) NormalizeScore(_ *framework.CycleState, _ *framework.PodInfo, scores []framework.NodeScore) *framework.Status {
	framework.DefaultNormalizeScore(framework.MaxNodeScore, true, scores)
	return nil
}
