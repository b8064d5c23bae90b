package main

import (
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kemudi/kemudi/internal/cluster"
)

// newNodeCommand is `kemudi node`: what an operator does to the
// machines of the cluster.
func newNodeCommand() *cobra.Command {
	o := &tokenOptions{}
	cmd := &cobra.Command{Use: "node", Short: "Manage the cluster's machines"}
	cmd.PersistentFlags().StringVar(&o.dataDir, "data-dir", cluster.DefaultServerOptions().DataDir, "the server's data dir")
	cmd.PersistentFlags().StringVar(&o.kubeconfig, "kubeconfig", "", "an admin kubeconfig (default <data-dir>/admin.kubeconfig)")
	r := nodeRemoveOptions{}
	remove := &cobra.Command{
		Use:   "remove NAME",
		Short: "Take a machine out of the cluster: cordon and drain its node, record the machine as removed, delete the Node",
		Long: `Take a machine out of the cluster.

The node is cordoned and drained as 'kubectl drain --ignore-daemonsets
--delete-emptydir-data' would (pods are evicted through the API, so
PodDisruptionBudgets are respected; DaemonSet pods stay until the Node
goes). Then the local cloud provider records the machine as removed
(ConfigMap kube-system/kemudi-removed-nodes) and the Node is deleted.
The command returns once the Node is gone, or fails at --timeout.

A removed machine whose agent still runs is not taken back: its kubelet
registering the Node again gets it deleted by the cloud node
controller. The machine joins again as a new one: delete
agent/kubelet.kubeconfig in its data dir and start its agent with
--server and --token-file.

The node of the server itself (it serves the API, or it is this
machine's) is removed only with --force.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := o.client()
			if err != nil {
				return err
			}
			if o.kubeconfig == "" {
				// Through this machine's admin kubeconfig: this machine
				// is the server, and a node of its name is the server's.
				if host, err := os.Hostname(); err == nil {
					r.localHost = strings.ToLower(host)
				}
			}
			return removeNode(cmd.Context(), cmd.OutOrStdout(), client, args[0], r, time.Now)
		},
	}
	remove.Flags().BoolVar(&r.force, "force", false, "also delete pods no controller manages (as kubectl drain --force), and allow removing the server's own node")
	remove.Flags().DurationVar(&r.timeout, "timeout", 5*time.Minute, "how long to wait for the drain and the Node's deletion")
	remove.Flags().IntVar(&r.gracePeriod, "grace-period", -1, "seconds each pod is given to terminate (-1: the pod's own)")
	cmd.AddCommand(remove)
	return cmd
}
