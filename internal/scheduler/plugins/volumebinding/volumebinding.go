// Package volumebinding is the VolumeBinding plugin, upstream's: a pod
// whose PersistentVolumeClaims are bound goes only to nodes their
// volumes' node affinity admits; a claim whose class waits for the
// first consumer (WaitForFirstConsumer) is bound by the scheduler
// itself, on the node it chose: to an available volume that node may
// use, or, when none fits, to a volume the class's provisioner makes
// for that node. Reserve remembers the choice so that the next pods do
// not take the same volume; PreBind writes it to the API and waits for
// the volume controller (and the provisioner) to finish the binding.
package volumebinding

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/component-helpers/storage/ephemeral"

	"github.com/kemudi/kemudi/internal/scheduler/framework"
)

// Name is the plugin's upstream name.
const Name = "VolumeBinding"

// DefaultBindTimeout is how long PreBind waits for the claims to be
// bound (upstream's bindTimeoutSeconds).
const DefaultBindTimeout = 600 * time.Second

// Listers read claims, volumes and classes; Nodes is read by PreBind
// only. CSIDrivers and Capacities, for the storage capacity check, may
// be nil: nothing is checked then.
type Listers struct {
	Claims     corelisters.PersistentVolumeClaimLister
	Volumes    corelisters.PersistentVolumeLister
	Classes    storagelisters.StorageClassLister
	Nodes      corelisters.NodeLister
	CSIDrivers storagelisters.CSIDriverLister
	Capacities storagelisters.CSIStorageCapacityLister
}

// Binding is what PreBind needs to bind claims: an API client, the
// pending pods (a pod deleted meanwhile stops the wait; nil: not
// checked) and how long to wait (zero: DefaultBindTimeout).
type Binding struct {
	Client  kubernetes.Interface
	Pods    corelisters.PodLister
	Timeout time.Duration
}

// Plugin is VolumeBinding.
type Plugin struct {
	l       Listers
	binding Binding
	assumed *assumeCache
	changes broadcast
}

// New returns the plugin. Until SetBinding, pods whose claims need
// binding fail in PreBind.
func New(l Listers) *Plugin {
	return &Plugin{l: l, assumed: newAssumeCache(l)}
}

// SetBinding gives PreBind its client; call before scheduling starts.
func (pl *Plugin) SetBinding(b Binding) {
	if b.Timeout <= 0 {
		b.Timeout = DefaultBindTimeout
	}
	pl.binding = b
}

// Notify tells the plugin that a claim, a volume or a pod changed in
// its listers: PreBind waits for such changes.
func (pl *Plugin) Notify() { pl.changes.notify() }

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
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		switch {
		case v.PersistentVolumeClaim != nil:
			claims = append(claims, Claim{Name: v.PersistentVolumeClaim.ClaimName})
		case v.Ephemeral != nil:
			claims = append(claims, Claim{Name: ephemeral.VolumeClaimName(pod, v), Ephemeral: true})
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

const stateKey framework.StateKey = Name

// PreFilter reads the pod's claims and sorts them into bound ones and
// ones to bind on the chosen node; a claim that should already be bound
// (immediate binding) keeps the pod pending. Pods without claims skip
// the plugin.
func (pl *Plugin) PreFilter(_ context.Context, state *framework.CycleState, pod *framework.PodInfo, _ *framework.Snapshot) (*framework.PreFilterResult, *framework.Status) {
	claims := Claims(pod.Pod)
	if len(claims) == 0 {
		return nil, framework.NewStatus(framework.Skip)
	}
	pvcs, s := pl.podClaims(pod.Pod, claims)
	if s != nil {
		return nil, s
	}
	pc, immediate, err := pl.classify(pvcs)
	if err != nil {
		return nil, framework.AsStatus(err)
	}
	if immediate {
		return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonUnboundImmediate)
	}
	state.Write(stateKey, &stateData{claims: pc, byNode: map[string]*podVolumes{}})
	return nil, nil
}

// podClaims looks up the pod's claims (as the scheduler assumes them),
// refusing the pod with upstream's messages when one is missing, lost,
// being deleted, or an ephemeral claim not made for it.
func (pl *Plugin) podClaims(pod *corev1.Pod, claims []Claim) ([]*corev1.PersistentVolumeClaim, *framework.Status) {
	reject := func(msg string) *framework.Status {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, msg)
	}
	out := make([]*corev1.PersistentVolumeClaim, 0, len(claims))
	for _, c := range claims {
		pvc, err := pl.assumed.claim(pod.Namespace, c.Name)
		switch {
		case c.Ephemeral && apierrors.IsNotFound(err):
			return nil, reject(fmt.Sprintf("waiting for ephemeral volume controller to create the persistentvolumeclaim %q", c.Name))
		case err != nil:
			return nil, reject(err.Error())
		case pvc.Status.Phase == corev1.ClaimLost:
			return nil, reject(fmt.Sprintf("persistentvolumeclaim %q bound to non-existent persistentvolume %q", pvc.Name, pvc.Spec.VolumeName))
		case pvc.DeletionTimestamp != nil:
			return nil, reject(fmt.Sprintf("persistentvolumeclaim %q is being deleted", pvc.Name))
		}
		if c.Ephemeral {
			if err := ephemeral.VolumeIsForPod(pod, pvc); err != nil {
				return nil, reject(err.Error())
			}
		}
		out = append(out, pvc)
	}
	return out, nil
}

// Filter passes nodes where the bound claims' volumes may be used and
// every claim left to bind finds a volume or may be provisioned. The
// volumes it finds are kept for Reserve.
func (*Plugin) Filter(state *framework.CycleState, _ *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	s, _ := state.Read(stateKey).(*stateData)
	if s == nil {
		return framework.AsStatus(fmt.Errorf("%s: no PreFilter state", Name))
	}
	found, reasons, err := s.claims.find(node.Node())
	if err != nil {
		return framework.AsStatus(err)
	}
	if len(reasons) > 0 {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, reasons...)
	}
	if len(s.claims.delayed) > 0 {
		s.mu.Lock()
		s.byNode[node.Name()] = found
		s.mu.Unlock()
	}
	return nil
}
