package component

import (
	"context"
	"fmt"
	"log/slog"
	"os/signal"
	"syscall"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// LoadKubeconfig reads a component's kubeconfig (empty: in-cluster).
func LoadKubeconfig(path string) (*rest.Config, error) {
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

// SignalContext ends on SIGINT or SIGTERM.
func SignalContext(parent context.Context) (context.Context, context.CancelFunc) {
	if parent == nil {
		parent = context.Background()
	}
	return signal.NotifyContext(parent, syscall.SIGINT, syscall.SIGTERM)
}

// RunSupervised runs a standalone component named name against the API
// server of cfg until ctx ends: it waits for the API server, then runs
// the component under a Supervisor, so that a component that keeps
// failing, or an API server that does not answer within APIWaitTimeout,
// ends it with an error.
func RunSupervised(ctx context.Context, name string, cfg *rest.Config, run func(ctx context.Context, cfg *rest.Config) error) error {
	if err := WaitForAPI(ctx, cfg, APIWaitTimeout, slog.Default()); err != nil {
		return err
	}
	return NewSupervisor(slog.Default()).Run(ctx, Task{
		Name: name, Restart: true,
		Run: func(ctx context.Context) error { return run(ctx, cfg) },
	})
}
