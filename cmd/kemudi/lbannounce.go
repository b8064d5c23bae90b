package main

import (
	"context"
	"log/slog"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/internal/cloud/announce"
	"github.com/kemudi/kemudi/internal/cluster"
)

// newLBAnnouncerCommand runs a node's load-balancer announcer alone, as
// `kemudi agent` runs it beside the kubelet.
func newLBAnnouncerCommand() *cobra.Command {
	var o announce.Options
	var kubeconfig string
	cmd := &cobra.Command{
		Use:   "lb-announcer",
		Short: "Answer ARP and NDP on this node for the load-balancer addresses it is elected for (MetalLB's layer 2 mode)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// The kubelet's own default, so that both name one node.
			var err error
			if o.NodeName, err = cluster.DefaultNodeName(o.NodeName); err != nil {
				return err
			}
			return runAgainst(cmd, kubeconfig, func(ctx context.Context, cfg *rest.Config) error {
				o.Log = slog.Default()
				return announce.Run(ctx, cfg, o)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the API server (the node's identity will do)")
	f.StringVar(&o.NodeName, "node-name", "", "name of this node (default: the hostname)")
	f.StringVar(&o.NetNSPath, "netns", "", "network namespace whose interface answers (default: the announcer's own)")
	return cmd
}
