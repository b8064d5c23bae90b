// Package volumebinding is the VolumeBinding plugin: a pod whose
// PersistentVolumeClaims are bound goes only to nodes their volumes'
// node affinity admits (a node-local volume pins the pod to its node);
// claims not bound yet keep the pod pending until the volume controller
// binds them.
package volumebinding

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	volumehelpers "k8s.io/component-helpers/storage/volume"

	"github.com/kemudi/kemudi/internal/scheduler/framework"
)

// Name is the plugin's upstream name.
const Name = "VolumeBinding"

// Upstream's reasons.
const (
	ErrReasonNodeConflict   = "node(s) didn't match PersistentVolume's node affinity"
	errReasonUnboundClaims  = "pod has unbound immediate PersistentVolumeClaims"
	errReasonDelayedBinding = "pod has unbound PersistentVolumeClaims with volumeBindingMode WaitForFirstConsumer, which this scheduler does not bind"
)

var nodeConflict = framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonNodeConflict).WithPlugin(Name)

// Listers read claims, volumes and classes.
type Listers struct {
	Claims  corelisters.PersistentVolumeClaimLister
	Volumes corelisters.PersistentVolumeLister
	Classes storagelisters.StorageClassLister
}

// Plugin is VolumeBinding.
type Plugin struct{ l Listers }

// New returns the plugin.
func New(l Listers) *Plugin { return &Plugin{l: l} }

// Name implements framework.Plugin.
func (*Plugin) Name() string { return Name }

// Claim is a claim a pod's volume uses.
type Claim struct {
	Name string
	// Ephemeral claims are made for the pod from its volume's template
	// and must be owned by it.
	Ephemeral bool
}

// Claims returns the claims a pod's volumes use: persistentVolumeClaim
// volumes and generic ephemeral volumes (whose claim is <pod>-<volume>).
func Claims(pod *corev1.Pod) []Claim {
	var claims []Claim
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.PersistentVolumeClaim != nil:
			claims = append(claims, Claim{Name: v.PersistentVolumeClaim.ClaimName})
		case v.Ephemeral != nil:
			claims = append(claims, Claim{Name: pod.Name + "-" + v.Name, Ephemeral: true})
		}
	}
	return claims
}

// ErrorAsStatus turns a lister error into the pod's status: a missing
// object keeps it pending with the API's message.
func ErrorAsStatus(err error) *framework.Status {
	if err == nil {
		return nil
	}
	if apierrors.IsNotFound(err) {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, err.Error())
	}
	return framework.AsStatus(err)
}

const preFilterKey framework.StateKey = "PreFilter" + Name

type preFilterState struct{ volumes []*corev1.PersistentVolume }

func (s *preFilterState) Clone() framework.StateData { return s }

// PreFilter resolves the pod's claims to their volumes; pods without
// claims skip the filter.
func (pl *Plugin) PreFilter(_ context.Context, state *framework.CycleState, pod *framework.PodInfo, _ *framework.Snapshot) (*framework.PreFilterResult, *framework.Status) {
	claims := Claims(pod.Pod)
	if len(claims) == 0 {
		return nil, framework.NewStatus(framework.Skip)
	}
	s := &preFilterState{}
	var unbound, delayed bool
	for _, c := range claims {
		claim, err := pl.l.Claims.PersistentVolumeClaims(pod.Pod.Namespace).Get(c.Name)
		if err != nil {
			return nil, ErrorAsStatus(err)
		}
		if claim.DeletionTimestamp != nil {
			return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, fmt.Sprintf("persistentvolumeclaim %q is being deleted", claim.Name))
		}
		if c.Ephemeral && !metav1.IsControlledBy(claim, pod.Pod) {
			return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, fmt.Sprintf("PVC %s/%s was not created for pod %s/%s (pod is not owner)", claim.Namespace, claim.Name, pod.Pod.Namespace, pod.Pod.Name))
		}
		if claim.Spec.VolumeName == "" {
			if pl.delayBinding(claim) {
				delayed = true
			} else {
				unbound = true
			}
			continue
		}
		pv, err := pl.l.Volumes.Get(claim.Spec.VolumeName)
		if err != nil {
			return nil, ErrorAsStatus(err)
		}
		s.volumes = append(s.volumes, pv)
	}
	switch {
	case unbound:
		return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, errReasonUnboundClaims)
	case delayed:
		return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, errReasonDelayedBinding)
	}
	state.Write(preFilterKey, s)
	return nil, nil
}

func (pl *Plugin) delayBinding(claim *corev1.PersistentVolumeClaim) bool {
	class := volumehelpers.GetPersistentVolumeClaimClass(claim)
	if class == "" || pl.l.Classes == nil {
		return false
	}
	sc, err := pl.l.Classes.Get(class)
	return err == nil && sc.VolumeBindingMode != nil && *sc.VolumeBindingMode == storagev1.VolumeBindingWaitForFirstConsumer
}

// Filter passes nodes every bound volume's node affinity admits.
func (*Plugin) Filter(state *framework.CycleState, _ *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	s, _ := state.Read(preFilterKey).(*preFilterState)
	if s == nil {
		return framework.AsStatus(fmt.Errorf("%s: no PreFilter state", Name))
	}
	labels := node.Node().Labels
	for _, pv := range s.volumes {
		if err := volumehelpers.CheckNodeAffinity(pv, labels); err != nil {
			return nodeConflict
		}
	}
	return nil
}
