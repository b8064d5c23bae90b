package cluster

import (
	"context"
	"log/slog"

	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/internal/cloud"
)

// CloudControllerManager is the cloud-controller-manager component with
// the given options, leader-elected on kube-system/cloud-controller-manager.
// It acts as system:cloud-controller-manager in system:masters: the
// bootstrap policy has no role for it, and upstream's example binds its
// account to cluster-admin.
func CloudControllerManager(opts cloud.Options) Component {
	return Component{
		Name: "cloud-controller-manager", User: "system:cloud-controller-manager", Groups: []string{"system:masters"},
		Run: func(ctx context.Context, cfg *rest.Config, log *slog.Logger) error {
			o := opts
			o.Log = log
			return cloud.Run(ctx, cfg, o)
		},
	}
}

// cloudControllerManager runs the local provider: load balancers on
// the pool's addresses, or the nodes' without one.
func (o ControlPlaneOptions) cloudControllerManager() Component {
	return CloudControllerManager(o.cloudOptions())
}

func (o ControlPlaneOptions) cloudOptions() cloud.Options {
	opts := cloud.DefaultOptions()
	opts.LBAddressPool = o.LBAddressPool
	return opts
}

// ValidateCloud checks the cloud controller manager's settings (a
// malformed pool, one overlapping the pod or service CIDR) before
// anything runs.
func (o ControlPlaneOptions) ValidateCloud() error {
	opts := o.cloudOptions()
	return opts.Validate()
}
