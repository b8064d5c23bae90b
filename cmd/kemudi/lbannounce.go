package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/internal/cloud/announce"
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
			if o.NodeName == "" {
				host, err := os.Hostname()
				if err != nil {
					return fmt.Errorf("--node-name: %w", err)
				}
				// The kubelet's own default, so that both name one node.
				o.NodeName = strings.ToLower(host)
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
