package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/kemudi/kemudi/internal/component"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/internal/controller/manager"
)

// runAgainst runs a component against the API server of kubeconfig
// until SIGINT or SIGTERM.
func runAgainst(cmd *cobra.Command, kubeconfig string, run func(ctx context.Context, cfg *rest.Config) error) error {
	cfg, err := component.LoadKubeconfig(kubeconfig)
	if err != nil {
		return err
	}
	ctx, stop := component.SignalContext(cmd.Context())
	defer stop()
	return run(ctx, cfg)
}

// runSupervised runs a control-plane component (named as its command)
// like runAgainst, under component.RunSupervised.
func runSupervised(cmd *cobra.Command, kubeconfig string, run func(ctx context.Context, cfg *rest.Config) error) error {
	return runAgainst(cmd, kubeconfig, func(ctx context.Context, cfg *rest.Config) error {
		return component.RunSupervised(ctx, cmd.Name(), cfg, run)
	})
}

func newControllerManagerCommand() *cobra.Command {
	o := manager.DefaultOptions()
	var kubeconfig string
	cmd := &cobra.Command{
		Use:   "controller-manager",
		Short: "Run the controller manager alone, against any API server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return runSupervised(cmd, kubeconfig, func(ctx context.Context, cfg *rest.Config) error {
				o.Log = slog.Default()
				return manager.Run(ctx, cfg, o)
			})
		},
	}
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the API server (e.g. <data-dir>/controller-manager.kubeconfig)")
	cmd.Flags().StringSliceVar(&o.Controllers, "controllers", o.Controllers, `controllers to run: "*" for the defaults, "name" to add one, "-name" to remove one`)
	cmd.Flags().BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect, "run controllers only while holding the kube-system/kube-controller-manager lease")
	addLeaderElectionFlags(cmd, &o.LeaseDuration, &o.RenewDeadline, &o.RetryPeriod)
	cmd.Flags().StringVar(&o.MetricsAddress, "metrics-address", o.MetricsAddress, "serve /metrics (the controllers' work queues) on this address over plain HTTP (e.g. 127.0.0.1:10257; empty: off)")
	addControllerFlags(cmd, &o.Controller)
	return cmd
}

// addLeaderElectionFlags adds upstream's leader election timing flags.
func addLeaderElectionFlags(cmd *cobra.Command, lease, renew, retry *time.Duration) {
	f := cmd.Flags()
	f.DurationVar(lease, "leader-elect-lease-duration", 15*time.Second, "how long other candidates wait after the leader's last renewal before taking the lease")
	f.DurationVar(renew, "leader-elect-renew-deadline", 10*time.Second, "how long the leader keeps trying to renew before it stops leading (shorter than the lease duration)")
	f.DurationVar(retry, "leader-elect-retry-period", 2*time.Second, "how often candidates try to acquire or renew the lease")
}
