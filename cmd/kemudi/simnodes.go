package main

import (
	"fmt"
	"log/slog"

	"github.com/kemudi/kemudi/internal/component"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"

	"github.com/kemudi/kemudi/internal/cluster"
	"github.com/kemudi/kemudi/internal/simnode"
)

func newSimNodesCommand() *cobra.Command {
	var (
		o                             simnode.Options
		kubeconfig                    string
		cpu, memory, pods, storage    string
		extra, labels, taints, images []string
	)
	cmd := &cobra.Command{
		Use:   "sim-nodes",
		Short: "Register simulated nodes and run their pods without containers (for tests and benchmarks)",
		Long: `sim-nodes registers --count Node objects, keeps their leases and status
fresh, and acts as their kubelet: pods bound to them become Running and
Ready, finish when annotated ` + simnode.AnnotationCompleteAfter + `, and go away when
deleted. No container runs and no address is ever contacted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := component.LoadKubeconfig(kubeconfig)
			if err != nil {
				return err
			}
			capacity, err := simnode.ParseResources(append([]string{
				"cpu=" + cpu, "memory=" + memory, "pods=" + pods, "ephemeral-storage=" + storage,
			}, extra...))
			if err != nil {
				return err
			}
			o.Capacity = capacity
			if o.Labels, err = simnode.ParseLabels(labels); err != nil {
				return err
			}
			if o.Taints, err = simnode.ParseTaints(taints); err != nil {
				return err
			}
			for _, img := range images {
				o.Images = append(o.Images, corev1.ContainerImage{Names: []string{img}, SizeBytes: 100 << 20})
			}
			o.Log = slog.Default()
			nodes, err := simnode.NewForConfig(cfg, o)
			if err != nil {
				return err
			}
			ctx, stop := component.SignalContext(cmd.Context())
			defer stop()
			if err := nodes.Start(ctx); err != nil {
				nodes.Wait()
				if ctx.Err() != nil {
					return nil // stopped while starting
				}
				return fmt.Errorf("sim-nodes: %w", err)
			}
			// What only start-up touched (kubectl's share of the binary
			// above all) need not stay resident.
			if _, err := cluster.ReleaseStartupPages(); err != nil {
				o.Log.Warn("release start-up pages", "err", err)
			}
			<-ctx.Done()
			nodes.Wait()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the API server (e.g. <data-dir>/admin.kubeconfig)")
	f.IntVar(&o.Count, "count", 1, "number of nodes")
	f.StringVar(&o.NamePrefix, "name-prefix", "node-", "node names: prefix and a zero-padded index")
	f.StringVar(&cpu, "cpu", "4", "cpu capacity of each node")
	f.StringVar(&memory, "memory", "16Gi", "memory capacity of each node")
	f.StringVar(&pods, "pods", "110", "pod capacity of each node")
	f.StringVar(&storage, "ephemeral-storage", "100Gi", "ephemeral storage capacity of each node")
	f.StringSliceVar(&extra, "resources", nil, "extended resources of each node, name=quantity (example.com/gpu=2)")
	f.StringSliceVar(&labels, "labels", nil, "labels of each node, key=value")
	f.StringSliceVar(&taints, "taints", nil, "taints of each node, key=value:Effect or key:Effect")
	f.IntVar(&o.Zones, "zones", 0, "spread the nodes over this many zones (topology.kubernetes.io/zone=zone-a, ...)")
	f.StringSliceVar(&images, "images", nil, "images each node reports having (for image locality)")
	f.DurationVar(&o.RenewInterval, "lease-renew-interval", 0, "how often each lease is renewed (default 10s, spread over all nodes)")
	f.DurationVar(&o.StatusInterval, "status-interval", 0, "how often each node reports its status when nothing changed (default 1m)")
	f.DurationVar(&o.DeleteDelay, "delete-delay", 0, "how long a deleted pod's containers take to stop")
	f.IntVar(&o.Workers, "workers", 0, "workers updating pods (default 32)")
	f.BoolVar(&o.LeavePods, "leave-pods", false, "leave the pods bound to the nodes Pending, as scheduler benchmarks' nodes do")
	return cmd
}
