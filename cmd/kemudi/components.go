package main

import (
	"context"
	"fmt"
	"log/slog"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kemudi/kemudi/internal/cluster"
	"github.com/kemudi/kemudi/internal/controller/manager"
)

// loadKubeconfig reads a component's kubeconfig (empty: in-cluster).
func loadKubeconfig(path string) (*rest.Config, error) {
	if path == "" {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("no --kubeconfig given and not running in a pod: %w", err)
		}
		return cfg, nil
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	return cfg, nil
}

// runAgainst runs a component against the API server of kubeconfig
// until SIGINT or SIGTERM.
func runAgainst(cmd *cobra.Command, kubeconfig string, run func(ctx context.Context, cfg *rest.Config) error) error {
	cfg, err := loadKubeconfig(kubeconfig)
	if err != nil {
		return err
	}
	ctx, stop := signalContext(cmd.Context())
	defer stop()
	return run(ctx, cfg)
}

// runSupervised runs a control-plane component (named as its command)
// like runAgainst, under the supervisor: a component that keeps
// failing, or an API server that does not answer within
// cluster.APIWaitTimeout, ends the command with an error.
func runSupervised(cmd *cobra.Command, kubeconfig string, run func(ctx context.Context, cfg *rest.Config) error) error {
	return runAgainst(cmd, kubeconfig, func(ctx context.Context, cfg *rest.Config) error {
		if err := cluster.WaitForAPI(ctx, cfg, cluster.APIWaitTimeout, slog.Default()); err != nil {
			return err
		}
		return cluster.NewSupervisor(slog.Default()).Run(ctx, cluster.Task{
			Name: cmd.Name(), Restart: true,
			Run: func(ctx context.Context) error { return run(ctx, cfg) },
		})
	})
}

// signalContext ends on SIGINT or SIGTERM.
func signalContext(parent context.Context) (context.Context, context.CancelFunc) {
	if parent == nil {
		parent = context.Background()
	}
	return signal.NotifyContext(parent, syscall.SIGINT, syscall.SIGTERM)
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
