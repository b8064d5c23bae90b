package volumebinding

import (
	"fmt"
	"slices"
	"sort"
	"sync"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	volumehelpers "k8s.io/component-helpers/storage/volume"

	"github.com/kemudi/kemudi/internal/scheduler/framework"
)

// Upstream's reasons.
const (
	ErrReasonNodeConflict     = "node(s) didn't match PersistentVolume's node affinity"
	ErrReasonBindConflict     = "node(s) didn't find available persistent volumes to bind"
	ErrReasonPVNotExist       = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"
	ErrReasonUnboundImmediate = "pod has unbound immediate PersistentVolumeClaims"
)

// claimSet is a pod's claims as PreFilter found them.
type claimSet struct {
	// bound are the fully bound claims with their volumes (nil when
	// the volume does not exist).
	bound []boundClaim
	// delayed are the unbound WaitForFirstConsumer claims, smallest
	// request first, so that small claims do not take big volumes.
	delayed []*corev1.PersistentVolumeClaim
	// volumes are the volumes of each delayed claim's class.
	volumes map[string][]*corev1.PersistentVolume
	// classes are the delayed claims' classes.
	classes map[string]*storagev1.StorageClass
	// capacity is what the capacity check of claims to provision reads.
	capacity capacityView
}

type boundClaim struct {
	claim *corev1.PersistentVolumeClaim
	pv    *corev1.PersistentVolume
}

// podVolumes is what binds the pod's delayed claims on one node.
type podVolumes struct {
	// static binds claims to existing volumes.
	static []boundClaim
	// provision are the claims a provisioner is to make volumes for.
	provision []*corev1.PersistentVolumeClaim
}

// stateData is the plugin's cycle state. Filter runs on many nodes at
// once and records what it found for each under mu.
type stateData struct {
	claims *claimSet
	mu     sync.Mutex
	byNode map[string]*podVolumes
	// reserved is what Reserve assumed on the chosen node; nil when
	// nothing is left to bind.
	reserved *reservation
}

// Clone shares the state: what-if evaluations only add to byNode.
func (s *stateData) Clone() framework.StateData { return s }

// fullyBound is upstream's: the claim names its volume and the volume
// controller finished binding it.
func fullyBound(pvc *corev1.PersistentVolumeClaim) bool {
	return pvc.Spec.VolumeName != "" && metav1.HasAnnotation(pvc.ObjectMeta, volumehelpers.AnnBindCompleted)
}

// classify sorts claims into bound and delayed ones; immediate is true
// when a claim should have been bound by the volume controller and is
// not (yet).
func (pl *Plugin) classify(pvcs []*corev1.PersistentVolumeClaim) (*claimSet, bool, error) {
	cs := &claimSet{}
	immediate := false
	for _, pvc := range pvcs {
		if fullyBound(pvc) {
			pv, err := pl.assumed.volume(pvc.Spec.VolumeName)
			if err != nil && !apierrors.IsNotFound(err) {
				return nil, false, err
			}
			cs.bound = append(cs.bound, boundClaim{pvc, pv})
			continue
		}
		delay, err := volumehelpers.IsDelayBindingMode(pvc, pl.l.Classes)
		if err != nil {
			return nil, false, err
		}
		if delay && pvc.Spec.VolumeName == "" {
			cs.delayed = append(cs.delayed, pvc)
		} else {
			immediate = true
		}
	}
	if immediate || len(cs.delayed) == 0 {
		return cs, immediate, nil
	}
	sort.SliceStable(cs.delayed, func(i, j int) bool {
		a, b := cs.delayed[i].Spec.Resources.Requests[corev1.ResourceStorage], cs.delayed[j].Spec.Resources.Requests[corev1.ResourceStorage]
		return a.Cmp(b) < 0
	})
	all, err := pl.assumed.volumes()
	if err != nil {
		return nil, false, err
	}
	cs.volumes = map[string][]*corev1.PersistentVolume{}
	cs.classes = map[string]*storagev1.StorageClass{}
	for _, pvc := range cs.delayed {
		name := volumehelpers.GetPersistentVolumeClaimClass(pvc)
		if _, done := cs.classes[name]; done {
			continue
		}
		class, err := pl.l.Classes.Get(name)
		if err != nil && !apierrors.IsNotFound(err) {
			return nil, false, err
		}
		cs.classes[name] = class
		for _, pv := range all {
			if volumehelpers.GetPersistentVolumeClass(pv) == name {
				cs.volumes[name] = append(cs.volumes[name], pv)
			}
		}
	}
	if cs.capacity, err = pl.readCapacity(cs.classes); err != nil {
		return nil, false, err
	}
	return cs, false, nil
}

// find decides whether the pod's claims can be used on node, as
// upstream's FindPodVolumes: the reasons say why not; the volumes
// found say how the delayed claims would be bound there.
func (cs *claimSet) find(node *corev1.Node) (*podVolumes, []string, error) {
	boundOK, pvsExist := checkBound(cs.bound, node)
	found := &podVolumes{}
	unboundOK, room, err := cs.findUnbound(node, found)
	if err != nil {
		return nil, nil, err
	}
	var reasons []string
	if !boundOK {
		reasons = append(reasons, ErrReasonNodeConflict)
	}
	if !unboundOK {
		reasons = append(reasons, ErrReasonBindConflict)
	}
	if !room {
		reasons = append(reasons, ErrReasonNotEnoughSpace)
	}
	if !pvsExist {
		reasons = append(reasons, ErrReasonPVNotExist)
	}
	return found, reasons, nil
}

// checkBound checks the bound claims' volumes, stopping at the first
// that is missing or may not be used on node.
func checkBound(bound []boundClaim, node *corev1.Node) (affinityOK, exist bool) {
	for _, b := range bound {
		if b.pv == nil {
			return true, false
		}
		if volumehelpers.CheckNodeAffinity(b.pv, node.Labels) != nil {
			return false, true
		}
	}
	return true, true
}

// findUnbound finds, for each delayed claim, a volume it may bind to on
// node or else a provisioner that may make one there (room is false when
// one may but its driver reports too little space). A claim already
// handed to a provisioner for a node fits that node only.
func (cs *claimSet) findUnbound(node *corev1.Node, found *podVolumes) (ok, room bool, err error) {
	var match, provision []*corev1.PersistentVolumeClaim
	for _, pvc := range cs.delayed {
		selected, ok := pvc.Annotations[volumehelpers.AnnSelectedNode]
		switch {
		case !ok:
			match = append(match, pvc)
		case selected != node.Name:
			return false, true, nil
		default:
			provision = append(provision, pvc)
		}
	}
	ok = true
	chosen := map[string]*corev1.PersistentVolume{}
	for _, pvc := range match {
		class := volumehelpers.GetPersistentVolumeClaimClass(pvc)
		pv, err := volumehelpers.FindMatchingVolume(pvc, cs.volumes[class], node, chosen, true, true)
		if err != nil {
			return false, true, err
		}
		if pv == nil {
			provision = append(provision, pvc)
			ok = false
			continue
		}
		chosen[pv.Name] = pv
		found.static = append(found.static, boundClaim{pvc, pv})
	}
	if len(provision) == 0 {
		return ok, true, nil
	}
	return cs.canProvision(provision, node, found)
}

// canProvision is true when every claim's class has a provisioner
// whose allowed topologies include node; room is false when one of
// them reports too little space there (upstream's checkVolumeProvisions).
func (cs *claimSet) canProvision(claims []*corev1.PersistentVolumeClaim, node *corev1.Node, found *podVolumes) (ok, room bool, err error) {
	for _, pvc := range claims {
		name := volumehelpers.GetPersistentVolumeClaimClass(pvc)
		if name == "" {
			return false, false, fmt.Errorf("no class for claim %q", pvc.Namespace+"/"+pvc.Name)
		}
		class := cs.classes[name]
		if class == nil {
			return false, false, fmt.Errorf("failed to find storage class %q", name)
		}
		if class.Provisioner == "" || class.Provisioner == volumehelpers.NotSupportedProvisioner {
			return false, true, nil
		}
		if !matchTopology(class.AllowedTopologies, node.Labels) {
			return false, true, nil
		}
		if !enoughCapacity(pvc, class, cs.capacity.drivers[class.Provisioner], cs.capacity.capacities, node.Labels) {
			return true, false, nil
		}
		found.provision = append(found.provision, pvc)
	}
	return true, true, nil
}

// matchTopology is true when a class's allowed topologies admit a
// node's labels: no terms admit every node; otherwise some term with
// expressions must have all of them match.
func matchTopology(terms []corev1.TopologySelectorTerm, nodeLabels map[string]string) bool {
	if len(terms) == 0 {
		return true
	}
	set := labels.Set(nodeLabels)
	for _, t := range terms {
		if len(t.MatchLabelExpressions) == 0 {
			continue
		}
		all := true
		for _, e := range t.MatchLabelExpressions {
			v, ok := set[e.Key]
			if !ok || !slices.Contains(e.Values, v) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}
