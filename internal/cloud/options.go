package cloud

import (
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	cloudprovider "k8s.io/cloud-provider"

	"github.com/kemudi/kemudi/internal/cloud/local"
)

// Controller names, as upstream's cloud-controller-manager --controllers.
const (
	ServiceController       = "service-lb-controller"
	NodeController          = "cloud-node-controller"
	NodeLifecycleController = "cloud-node-lifecycle-controller"
	RouteController         = "node-route-controller"
	// CSIAttacher attaches the provider's disks for the VolumeAttachments
	// of its CSI driver (kemudi's; upstream runs external-attacher
	// beside the driver).
	CSIAttacher = "csi-attacher"
)

// Options configure the cloud controller manager.
type Options struct {
	// CloudProvider names the provider (--cloud-provider): "local".
	CloudProvider string
	// ClusterName is passed to the provider (--cluster-name).
	ClusterName string
	// Controllers selects what runs, as upstream's --controllers: "*"
	// is every controller, "name" adds one, "-name" removes one. A
	// controller the provider cannot serve (routes, for a provider
	// without them) does not run.
	Controllers []string
	// ConfigureCloudRoutes runs the route controller when the provider
	// has routes (--configure-cloud-routes).
	ConfigureCloudRoutes bool
	// ClusterCIDRs are the pod network (--cluster-cidr): routes inside
	// are the cluster's, and a load balancer pool may not overlap it.
	ClusterCIDRs []netip.Prefix
	// ServiceCIDR is where cluster IPs come from: a pool may not overlap
	// it either.
	ServiceCIDR netip.Prefix
	// LBAddressPool is the local provider's address pool
	// (--lb-address-pool); empty: load balancers get node addresses.
	LBAddressPool string
	// NodeMonitorPeriod is how often the lifecycle controller looks at
	// the nodes; NodeStatusUpdateFrequency how often node addresses are
	// compared with the provider's; RouteReconciliationPeriod how often
	// routes are reconciled (upstream's flags of these names).
	NodeMonitorPeriod, NodeStatusUpdateFrequency, RouteReconciliationPeriod time.Duration

	// LeaderElect runs the controllers only while this process holds
	// the kube-system/cloud-controller-manager Lease.
	LeaderElect                               bool
	Identity                                  string
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration

	Log *slog.Logger
}

// DefaultOptions are upstream's defaults with the local provider and
// kemudi's networks.
func DefaultOptions() Options {
	return Options{
		CloudProvider:             local.ProviderName,
		ClusterName:               "kubernetes",
		Controllers:               []string{"*"},
		ConfigureCloudRoutes:      true,
		ClusterCIDRs:              []netip.Prefix{netip.MustParsePrefix("10.42.0.0/16")},
		ServiceCIDR:               netip.MustParsePrefix("10.43.0.0/16"),
		NodeMonitorPeriod:         5 * time.Second,
		NodeStatusUpdateFrequency: 5 * time.Minute,
		RouteReconciliationPeriod: 10 * time.Second,
		LeaderElect:               true,
		Log:                       slog.Default(),
	}
}

// Validate checks what would make Run fail at once: an unknown provider
// or controller, a malformed pool or one overlapping the cluster's
// networks.
func (o *Options) Validate() error {
	if _, err := selected(o.Controllers); err != nil {
		return err
	}
	_, err := NewProvider(*o)
	return err
}

// NewProvider builds the provider o names.
func NewProvider(o Options) (cloudprovider.Interface, error) {
	switch o.CloudProvider {
	case local.ProviderName:
		pool, err := local.ParsePool(o.LBAddressPool)
		if err != nil {
			return nil, fmt.Errorf("--lb-address-pool: %w", err)
		}
		if o.ServiceCIDR.IsValid() {
			if err := pool.CheckOverlap("service CIDR", o.ServiceCIDR); err != nil {
				return nil, fmt.Errorf("--lb-address-pool: %w", err)
			}
		}
		for _, c := range o.ClusterCIDRs {
			if err := pool.CheckOverlap("pod CIDR", c); err != nil {
				return nil, fmt.Errorf("--lb-address-pool: %w", err)
			}
		}
		return local.New(local.Options{Pool: pool}), nil
	case "":
		return nil, fmt.Errorf("--cloud-provider: none given (kemudi has %q)", local.ProviderName)
	default:
		return nil, fmt.Errorf("--cloud-provider %q: unknown provider (kemudi has %q)", o.CloudProvider, local.ProviderName)
	}
}
