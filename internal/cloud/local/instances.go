package local

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	cloudprovider "k8s.io/cloud-provider"
)

// InstanceExists is true for every machine that joined, until it is
// removed (kemudi node remove records it, removed.go); a removed machine
// is an instance again once it joins anew with a token.
func (p *Provider) InstanceExists(ctx context.Context, node *corev1.Node) (bool, error) {
	gone, err := p.removed(ctx, node)
	if err != nil {
		return true, err
	}
	return !gone, nil
}

// InstanceShutdown is false: a machine without a cloud cannot tell a
// shut-down machine from an unreachable one.
func (p *Provider) InstanceShutdown(context.Context, *corev1.Node) (bool, error) { return false, nil }

// InstanceMetadata describes a node as the instance it is: providerID
// local://<name>, instance type and zone (the node's own zone and
// region labels win over the configured ones), and the addresses the
// kubelet reported.
func (p *Provider) InstanceMetadata(_ context.Context, node *corev1.Node) (*cloudprovider.InstanceMetadata, error) {
	md := &cloudprovider.InstanceMetadata{
		ProviderID:    node.Spec.ProviderID,
		InstanceType:  p.opts.InstanceType,
		NodeAddresses: append([]corev1.NodeAddress(nil), node.Status.Addresses...),
		Zone:          p.opts.Zone,
		Region:        p.opts.Region,
	}
	if md.ProviderID == "" {
		md.ProviderID = ProviderName + "://" + node.Name
	}
	if z := node.Labels[corev1.LabelTopologyZone]; z != "" {
		md.Zone = z
	}
	if r := node.Labels[corev1.LabelTopologyRegion]; r != "" {
		md.Region = r
	}
	return md, nil
}
