package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/internal/cloud"
)

func newCloudControllerManagerCommand() *cobra.Command {
	o := cloud.DefaultOptions()
	var kubeconfig, serviceCIDR string
	var clusterCIDRs []string
	cmd := &cobra.Command{
		Use:   "cloud-controller-manager",
		Short: "Run the cloud controllers (load balancers, node initialization and lifecycle, routes) alone, against any API server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if o.ClusterCIDRs, err = parsePrefixes("--cluster-cidr", clusterCIDRs); err != nil {
				return err
			}
			if serviceCIDR != "" {
				if o.ServiceCIDR, err = netip.ParsePrefix(serviceCIDR); err != nil {
					return fmt.Errorf("--service-cluster-ip-range: %w", err)
				}
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return runSupervised(cmd, kubeconfig, func(ctx context.Context, cfg *rest.Config) error {
				o.Log = slog.Default()
				return cloud.Run(ctx, cfg, o)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the API server (e.g. <data-dir>/cloud-controller-manager.kubeconfig)")
	f.StringVar(&o.CloudProvider, "cloud-provider", o.CloudProvider, `the cloud provider: "local" (load balancers on node addresses or --lb-address-pool)`)
	f.StringVar(&o.ClusterName, "cluster-name", o.ClusterName, "the cluster's name, passed to the provider")
	f.StringSliceVar(&o.Controllers, "controllers", o.Controllers, `controllers to run: "*" for all, "name" to add one, "-name" to remove one (`+
		cloud.ServiceController+", "+cloud.NodeController+", "+cloud.NodeLifecycleController+", "+cloud.RouteController+", "+cloud.CSIAttacher+")")
	f.StringVar(&o.LBAddressPool, "lb-address-pool", "", "addresses load balancers get, e.g. 10.99.0.200-10.99.0.250 (ranges, CIDRs or addresses, IPv4 and IPv6, comma-separated); empty: the nodes' addresses")
	f.StringSliceVar(&clusterCIDRs, "cluster-cidr", []string{prefixes(o.ClusterCIDRs)}, "the pods' CIDR ranges (routes inside them are the cluster's; the pool may not overlap them)")
	f.StringVar(&serviceCIDR, "service-cluster-ip-range", o.ServiceCIDR.String(), "the services' cluster IP range (the pool may not overlap it)")
	f.BoolVar(&o.ConfigureCloudRoutes, "configure-cloud-routes", o.ConfigureCloudRoutes, "route the nodes' pod CIDRs in the provider's network, if it has routes")
	f.DurationVar(&o.NodeMonitorPeriod, "node-monitor-period", o.NodeMonitorPeriod, "how often nodes that are not ready are checked with the provider")
	f.DurationVar(&o.NodeStatusUpdateFrequency, "node-status-update-frequency", o.NodeStatusUpdateFrequency, "how often node addresses are compared with the provider's")
	f.DurationVar(&o.RouteReconciliationPeriod, "route-reconciliation-period", o.RouteReconciliationPeriod, "how often routes are reconciled")
	f.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect, "run the controllers only while holding the kube-system/cloud-controller-manager lease")
	addLeaderElectionFlags(cmd, &o.LeaseDuration, &o.RenewDeadline, &o.RetryPeriod)
	return cmd
}
