// Package volumezone is the VolumeZone plugin: a pod whose bound volumes
// carry zone or region labels goes only to nodes in those zones.
package volumezone

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/kemudi/kemudi/internal/scheduler/framework"
	"github.com/kemudi/kemudi/internal/scheduler/plugins/volumebinding"
)

// Name is the plugin's upstream name.
const Name = "VolumeZone"

// ErrReasonConflict is upstream's reason.
const ErrReasonConflict = "node(s) had no available volume zone"

var conflict = framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonConflict).WithPlugin(Name)

// topologyLabels are the labels compared, beta ones first as upstream.
var topologyLabels = []string{
	corev1.LabelFailureDomainBetaZone, corev1.LabelFailureDomainBetaRegion,
	corev1.LabelTopologyZone, corev1.LabelTopologyRegion,
}

// Plugin is VolumeZone.
type Plugin struct{ l volumebinding.Listers }

// New returns the plugin.
func New(l volumebinding.Listers) *Plugin { return &Plugin{l: l} }

// Name implements framework.Plugin.
func (*Plugin) Name() string { return Name }

type pvTopology struct {
	key    string
	values sets.Set[string]
}

const preFilterKey framework.StateKey = "PreFilter" + Name

type preFilterState struct{ topologies []pvTopology }

func (s *preFilterState) Clone() framework.StateData { return s }

// PreFilter collects the zone labels of the pod's bound volumes; pods
// without any skip the filter. Unbound claims are VolumeBinding's
// business.
func (pl *Plugin) PreFilter(_ context.Context, state *framework.CycleState, pod *framework.PodInfo, _ *framework.Snapshot) (*framework.PreFilterResult, *framework.Status) {
	var tops []pvTopology
	for _, c := range volumebinding.Claims(pod.Pod) {
		if c.Name == "" {
			return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, "PersistentVolumeClaim had no name")
		}
		claim, err := pl.l.Claims.PersistentVolumeClaims(pod.Pod.Namespace).Get(c.Name)
		if err != nil {
			return nil, volumebinding.ErrorAsStatus(err)
		}
		if claim.Spec.VolumeName == "" {
			continue
		}
		pv, err := pl.l.Volumes.Get(claim.Spec.VolumeName)
		if err != nil {
			return nil, volumebinding.ErrorAsStatus(err)
		}
		for _, key := range topologyLabels {
			if v, ok := pv.Labels[key]; ok {
				tops = append(tops, pvTopology{key: key, values: sets.New(strings.Split(v, "__")...)})
			}
		}
	}
	if len(tops) == 0 {
		return nil, framework.NewStatus(framework.Skip)
	}
	state.Write(preFilterKey, &preFilterState{topologies: tops})
	return nil, nil
}

// Filter passes nodes without zone labels (a single-zone cluster) and
// nodes in every volume's zone.
func (*Plugin) Filter(state *framework.CycleState, _ *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	s, _ := state.Read(preFilterKey).(*preFilterState)
	if s == nil {
		return framework.AsStatus(fmt.Errorf("%s: no PreFilter state", Name))
	}
	labels := node.Node().Labels
	constrained := false
	for _, key := range topologyLabels {
		if _, ok := labels[key]; ok {
			constrained = true
			break
		}
	}
	if !constrained {
		return nil
	}
	for _, t := range s.topologies {
		v, ok := labels[t.key]
		if !ok {
			v, ok = labels[gaLabel(t.key)]
		}
		if !ok || !t.values.Has(v) {
			return conflict
		}
	}
	return nil
}

func gaLabel(key string) string {
	switch key {
	case corev1.LabelFailureDomainBetaZone:
		return corev1.LabelTopologyZone
	case corev1.LabelFailureDomainBetaRegion:
		return corev1.LabelTopologyRegion
	}
	return key
}
