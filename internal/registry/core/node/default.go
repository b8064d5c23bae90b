package node

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/kemudi/kemudi/internal/registry/core/podspec"
)

// Default keeps spec.podCIDR and spec.podCIDRs in step (podCIDR wins when
// they disagree, for old clients), fills status.allocatable from capacity
// when unset, and rounds quantities to milli precision.
func Default(n *corev1.Node) {
	s := &n.Spec
	switch {
	case s.PodCIDR != "" && (len(s.PodCIDRs) == 0 || s.PodCIDRs[0] != s.PodCIDR):
		s.PodCIDRs = []string{s.PodCIDR}
	case s.PodCIDR == "" && len(s.PodCIDRs) > 0:
		s.PodCIDR = s.PodCIDRs[0]
	}
	if n.Status.Allocatable == nil && n.Status.Capacity != nil {
		n.Status.Allocatable = make(corev1.ResourceList, len(n.Status.Capacity))
		for k, v := range n.Status.Capacity {
			n.Status.Allocatable[k] = v.DeepCopy()
		}
	}
	podspec.RoundResourceList(n.Status.Capacity)
	podspec.RoundResourceList(n.Status.Allocatable)
}

// PrepareForCreate drops what a new node may not carry: the removed
// dynamic kubelet config source, and alpha fields.
func PrepareForCreate(n *corev1.Node) {
	n.Spec.ConfigSource = nil
	n.Status.Config = nil
	n.Spec.PodPreemptionPolicy = nil
}

// PrepareForUpdate keeps the status (the generic update does too) and
// drops fields the stored node does not already use.
func PrepareForUpdate(n, old *corev1.Node) {
	if old.Spec.ConfigSource == nil {
		n.Spec.ConfigSource = nil
	}
	if old.Spec.PodPreemptionPolicy == nil {
		n.Spec.PodPreemptionPolicy = nil
	}
}

// PrepareForStatusUpdate drops a config status the node did not have and
// the alpha user-namespace flag.
func PrepareForStatusUpdate(n, old *corev1.Node) {
	if old.Status.Config == nil {
		n.Status.Config = nil
	}
	if old.Status.NodeInfo.RunningInUserNamespace == nil {
		n.Status.NodeInfo.RunningInUserNamespace = nil
	}
}
