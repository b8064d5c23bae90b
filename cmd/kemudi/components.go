package main

import (
	"context"
	"log/slog"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kemudi/kemudi/internal/controller/manager"
)

// loadKubeconfig reads a component's kubeconfig (empty: in-cluster).
func loadKubeconfig(path string) (*rest.Config, error) {
	if path == "" {
		return rest.InClusterConfig()
	}
	return clientcmd.BuildConfigFromFlags("", path)
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
			return runAgainst(cmd, kubeconfig, func(ctx context.Context, cfg *rest.Config) error {
				o.Log = slog.Default()
				return manager.Run(ctx, cfg, o)
			})
		},
	}
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the API server (e.g. <data-dir>/controller-manager.kubeconfig)")
	cmd.Flags().StringSliceVar(&o.Controllers, "controllers", o.Controllers, `controllers to run: "*" for the defaults, "name" to add one, "-name" to remove one`)
	cmd.Flags().BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect, "run controllers only while holding the kube-system/kube-controller-manager lease")
	addControllerFlags(cmd, &o.Controller)
	return cmd
}
