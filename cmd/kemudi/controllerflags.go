package main

import (
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kemudi/kemudi/internal/controller"
)

// addControllerFlags adds upstream's kube-controller-manager flags for the
// settings of individual controllers.
func addControllerFlags(cmd *cobra.Command, o *controller.Options) {
	fs := cmd.Flags()
	fs.DurationVar(&o.NodeMonitorPeriod, "node-monitor-period", o.NodeMonitorPeriod, "how often node health is checked")
	fs.DurationVar(&o.NodeMonitorGracePeriod, "node-monitor-grace-period", o.NodeMonitorGracePeriod, "how long a node may be silent before it is marked unhealthy")
	fs.DurationVar(&o.NodeStartupGracePeriod, "node-startup-grace-period", o.NodeStartupGracePeriod, "how long a new node may take to report before it is marked unhealthy")
	fs.BoolVar(&o.AllocateNodeCIDRs, "allocate-node-cidrs", o.AllocateNodeCIDRs, "give each node spec.podCIDR(s) from --cluster-cidr")
	var clusterCIDR, rootCAFile string
	fs.StringVar(&clusterCIDR, "cluster-cidr", prefixes(o.ClusterCIDRs), "the pods' CIDR range (one, or an IPv4 and an IPv6 one separated by a comma)")
	fs.IntVar(&o.NodeCIDRMaskSize, "node-cidr-mask-size", o.NodeCIDRMaskSize, "prefix length of each node's pod range (single-stack clusters)")
	fs.IntVar(&o.NodeCIDRMaskSize, "node-cidr-mask-size-ipv4", o.NodeCIDRMaskSize, "prefix length of each node's IPv4 pod range")
	fs.IntVar(&o.NodeCIDRMaskSizeIPv6, "node-cidr-mask-size-ipv6", o.NodeCIDRMaskSizeIPv6, "prefix length of each node's IPv6 pod range")
	fs.StringVar(&rootCAFile, "root-ca-file", "", "CA bundle published in every namespace as kube-root-ca.crt (default: the CA of --kubeconfig)")
	fs.StringVar(&o.ClusterSigningCertFile, "cluster-signing-cert-file", "", "CA certificate (PEM) csrsigning issues certificates with (kemudi server's: <data-dir>/tls/ca.crt)")
	fs.StringVar(&o.ClusterSigningKeyFile, "cluster-signing-key-file", "", "private key (PEM) of --cluster-signing-cert-file")
	fs.DurationVar(&o.ClusterSigningDuration, "cluster-signing-duration", o.ClusterSigningDuration, "the longest certificate csrsigning issues")
	fs.IntVar(&o.TerminatedPodGCThreshold, "terminated-pod-gc-threshold", o.TerminatedPodGCThreshold, "terminated pods that may exist before the pod garbage collector deletes the oldest (<= 0: never)")
	prev := cmd.PreRunE
	cmd.PreRunE = func(cmd *cobra.Command, args []string) error {
		if prev != nil {
			if err := prev(cmd, args); err != nil {
				return err
			}
		}
		if cmd.Flags().Changed("cluster-cidr") {
			o.ClusterCIDRs = nil
			for _, s := range strings.Split(clusterCIDR, ",") {
				p, err := netip.ParsePrefix(strings.TrimSpace(s))
				if err != nil {
					return fmt.Errorf("--cluster-cidr: %w", err)
				}
				o.ClusterCIDRs = append(o.ClusterCIDRs, p)
			}
		}
		if rootCAFile != "" {
			ca, err := os.ReadFile(rootCAFile)
			if err != nil {
				return fmt.Errorf("--root-ca-file: %w", err)
			}
			o.RootCA = ca
		}
		return nil
	}
}

func prefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}
