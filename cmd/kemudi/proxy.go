package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/internal/proxy"
)

func newProxyCommand() *cobra.Command {
	o := proxy.DefaultOptions()
	var kubeconfig string
	var clusterCIDRs []string
	serviceCIDRs := []string{"10.43.0.0/16"}
	cmd := &cobra.Command{
		Use:   "proxy",
		Short: "Run kube-proxy alone: Services through nftables (table ip kemudi-proxy)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if o.ClusterCIDRs, err = parsePrefixes("--cluster-cidr", clusterCIDRs); err != nil {
				return err
			}
			if o.ServiceCIDRs, err = parsePrefixes("--service-cidr", serviceCIDRs); err != nil {
				return err
			}
			if o.NodeName == "" {
				if o.NodeName, err = os.Hostname(); err != nil {
					return fmt.Errorf("--node-name: %w", err)
				}
			}
			return runAgainst(cmd, kubeconfig, func(ctx context.Context, cfg *rest.Config) error {
				o.Log = slog.Default()
				return proxy.Run(ctx, cfg, o)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the API server")
	f.StringVar(&o.NodeName, "node-name", "", "name of this node (default: the hostname)")
	f.StringVar(&o.HealthzBindAddress, "healthz-bind-address", o.HealthzBindAddress, "address of /healthz, /livez and /metrics (empty: off)")
	f.StringSliceVar(&clusterCIDRs, "cluster-cidr", nil, "pod range(s): cluster-IP traffic from elsewhere is masqueraded (default: the node's podCIDRs)")
	f.StringSliceVar(&serviceCIDRs, "service-cidr", serviceCIDRs, "service range(s), routed nowhere and rejected when untranslated")
	f.DurationVar(&o.SyncPeriod, "sync-period", o.SyncPeriod, "how often the table is checked")
	f.DurationVar(&o.FullSyncPeriod, "full-sync-period", o.FullSyncPeriod, "how often the table is rebuilt")
	f.StringVar(&o.NetNSPath, "netns", "", "network namespace to program (default: the proxy's own)")
	return cmd
}

func parsePrefixes(flag string, ss []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range ss {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %w", flag, s, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
