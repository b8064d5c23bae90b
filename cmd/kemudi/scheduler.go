package main

import (
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/kemudi/kemudi/internal/scheduler"
)

func newSchedulerCommand() *cobra.Command {
	o := scheduler.DefaultOptions()
	var kubeconfig string
	cmd := &cobra.Command{
		Use:   "scheduler",
		Short: "Run the scheduler alone, against any API server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadKubeconfig(kubeconfig)
			if err != nil {
				return err
			}
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			o.Log = slog.Default()
			return scheduler.Run(ctx, cfg, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the API server (e.g. <data-dir>/scheduler.kubeconfig)")
	f.StringSliceVar(&o.SchedulerNames, "scheduler-name", []string{scheduler.DefaultSchedulerName}, "spec.schedulerName values to serve (repeat for several)")
	f.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect, "schedule only while holding the lease named by --leader-elect-resource-name")
	f.StringVar(&o.LeaseName, "leader-elect-resource-name", "kube-scheduler", "name of the kube-system Lease to hold")
	f.Int32Var(&o.PercentageOfNodesToScore, "percentage-of-nodes-to-score", 0, "share of nodes to find feasible before scoring (0: upstream's adaptive default)")
	f.IntVar(&o.Parallelism, "parallelism", 0, "goroutines filtering and scoring nodes (0: one per CPU)")
	return cmd
}
