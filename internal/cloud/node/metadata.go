package node

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	cloudprovider "k8s.io/cloud-provider"
)

// instance is what the controllers ask of a provider about nodes,
// through InstancesV2 when it has it, else Instances (and Zones).
type instance struct {
	v2    cloudprovider.InstancesV2
	v1    cloudprovider.Instances
	zones cloudprovider.Zones
	name  string
}

func newInstance(cloud cloudprovider.Interface) (*instance, error) {
	in := &instance{name: cloud.ProviderName()}
	if v2, ok := cloud.InstancesV2(); ok && v2 != nil {
		in.v2 = v2
		return in, nil
	}
	if v1, ok := cloud.Instances(); ok && v1 != nil {
		in.v1 = v1
		in.zones, _ = cloud.Zones()
		return in, nil
	}
	return nil, fmt.Errorf("cloud provider %s has no instances", cloud.ProviderName())
}

func (in *instance) metadata(ctx context.Context, node *corev1.Node) (*cloudprovider.InstanceMetadata, error) {
	if in.v2 != nil {
		return in.v2.InstanceMetadata(ctx, node)
	}
	name := types.NodeName(node.Name)
	md := &cloudprovider.InstanceMetadata{ProviderID: node.Spec.ProviderID}
	var err error
	if md.ProviderID == "" {
		if md.ProviderID, err = cloudprovider.GetInstanceProviderID(ctx, wrapV1{in}, name); err != nil {
			return nil, err
		}
	}
	if md.InstanceType, err = in.v1.InstanceTypeByProviderID(ctx, md.ProviderID); err != nil && !errors.Is(err, cloudprovider.NotImplemented) {
		return nil, fmt.Errorf("instance type: %w", err)
	}
	if md.NodeAddresses, err = in.v1.NodeAddressesByProviderID(ctx, md.ProviderID); err != nil {
		return nil, fmt.Errorf("node addresses: %w", err)
	}
	if in.zones != nil {
		z, err := in.zones.GetZoneByProviderID(ctx, md.ProviderID)
		if err != nil {
			return nil, fmt.Errorf("zone: %w", err)
		}
		md.Zone, md.Region = z.FailureDomain, z.Region
	}
	return md, nil
}

func (in *instance) exists(ctx context.Context, node *corev1.Node) (bool, error) {
	if in.v2 != nil {
		return in.v2.InstanceExists(ctx, node)
	}
	if node.Spec.ProviderID == "" {
		_, err := in.v1.InstanceID(ctx, types.NodeName(node.Name))
		if errors.Is(err, cloudprovider.InstanceNotFound) {
			return false, nil
		}
		return err == nil, err
	}
	return in.v1.InstanceExistsByProviderID(ctx, node.Spec.ProviderID)
}

func (in *instance) shutdown(ctx context.Context, node *corev1.Node) (bool, error) {
	if in.v2 != nil {
		return in.v2.InstanceShutdown(ctx, node)
	}
	if node.Spec.ProviderID == "" {
		return false, nil
	}
	return in.v1.InstanceShutdownByProviderID(ctx, node.Spec.ProviderID)
}

// wrapV1 is the part of cloudprovider.Interface GetInstanceProviderID
// uses.
type wrapV1 struct{ in *instance }

func (w wrapV1) Initialize(cloudprovider.ControllerClientBuilder, <-chan struct{}) {}
func (w wrapV1) LoadBalancer() (cloudprovider.LoadBalancer, bool)                  { return nil, false }
func (w wrapV1) Instances() (cloudprovider.Instances, bool)                        { return w.in.v1, true }
func (w wrapV1) InstancesV2() (cloudprovider.InstancesV2, bool)                    { return nil, false }
func (w wrapV1) Zones() (cloudprovider.Zones, bool)                                { return w.in.zones, w.in.zones != nil }
func (w wrapV1) Clusters() (cloudprovider.Clusters, bool)                          { return nil, false }
func (w wrapV1) Routes() (cloudprovider.Routes, bool)                              { return nil, false }
func (w wrapV1) ProviderName() string                                              { return w.in.name }
func (w wrapV1) HasClusterID() bool                                                { return false }
