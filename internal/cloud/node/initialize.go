package node

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	cloudprovider "k8s.io/cloud-provider"
	cloudapi "k8s.io/cloud-provider/api"
)

// Deprecated labels upstream still sets beside the stable ones.
const (
	labelBetaInstanceType = "beta.kubernetes.io/instance-type"
	labelBetaZone         = "failure-domain.beta.kubernetes.io/zone"
	labelBetaRegion       = "failure-domain.beta.kubernetes.io/region"
)

// needsInit: a node the controller initializes (it carries the
// uninitialized taint) or adopts (no taint, no providerID yet).
func needsInit(n *corev1.Node) bool {
	return hasTaint(n, cloudapi.TaintExternalCloudProvider) || n.Spec.ProviderID == ""
}

// initialized returns node as the provider describes it: providerID,
// labels and addresses set and the uninitialized taint removed. A
// tainted node takes the provider's labels; an adopted one keeps its
// own where it has them. node is not changed.
func initialized(node *corev1.Node, md *cloudprovider.InstanceMetadata) *corev1.Node {
	n := node.DeepCopy()
	override := hasTaint(node, cloudapi.TaintExternalCloudProvider)
	if n.Spec.ProviderID == "" {
		n.Spec.ProviderID = md.ProviderID
	}
	if n.Labels == nil {
		n.Labels = map[string]string{}
	}
	set := func(key, value string) {
		if value == "" {
			return
		}
		if _, has := n.Labels[key]; has && !override {
			return
		}
		n.Labels[key] = value
	}
	set(corev1.LabelInstanceTypeStable, md.InstanceType)
	set(labelBetaInstanceType, md.InstanceType)
	set(corev1.LabelTopologyZone, md.Zone)
	set(labelBetaZone, md.Zone)
	set(corev1.LabelTopologyRegion, md.Region)
	set(labelBetaRegion, md.Region)
	for k, v := range md.AdditionalLabels {
		set(k, v)
	}
	n.Spec.Taints = slices.DeleteFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.Key == cloudapi.TaintExternalCloudProvider })
	if len(n.Spec.Taints) == 0 {
		n.Spec.Taints = nil
	}
	n.Status.Addresses = addresses(node, md.NodeAddresses)
	return n
}

// addresses are the node's addresses after the provider's: the
// provider's, keeping the node's host name when the provider gives
// none, and only the node's chosen address when the kubelet was told
// one (alpha.kubernetes.io/provided-node-ip), as upstream. With no
// provider addresses the node keeps its own.
func addresses(node *corev1.Node, cloud []corev1.NodeAddress) []corev1.NodeAddress {
	if len(cloud) == 0 {
		return node.Status.Addresses
	}
	out := slices.Clone(cloud)
	if ip := node.Annotations[cloudapi.AnnotationAlphaProvidedIPAddr]; ip != "" {
		var kept []corev1.NodeAddress
		for _, a := range out {
			if a.Address == ip || a.Type == corev1.NodeHostName {
				kept = append(kept, a)
			}
		}
		if len(kept) > 0 {
			out = kept
		}
	}
	hasHost := slices.ContainsFunc(out, func(a corev1.NodeAddress) bool { return a.Type == corev1.NodeHostName })
	if !hasHost {
		for _, a := range node.Status.Addresses {
			if a.Type == corev1.NodeHostName {
				out = append(out, a)
			}
		}
	}
	return out
}

func addressesEqual(a, b []corev1.NodeAddress) bool {
	return apiequality.Semantic.DeepEqual(a, b)
}

func hasTaint(n *corev1.Node, key string) bool {
	return slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.Key == key })
}
