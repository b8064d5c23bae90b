package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/kemudi/kemudi/internal/component"

	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/internal/controller/manager"
	"github.com/kemudi/kemudi/internal/scheduler"
)

// Component is a control-plane component that runs as an API client of
// the server, with its own identity.
type Component struct {
	// Name is the component's name: its kubeconfig is
	// <data-dir>/<name>.kubeconfig.
	Name string
	// User and Groups are its identity (upstream's: system:kube-scheduler,
	// system:kube-controller-manager).
	User   string
	Groups []string
	Run    func(ctx context.Context, cfg *rest.Config, log *slog.Logger) error
}

// ControlPlaneOptions are the settings of the control-plane components
// `kemudi server` runs (its --controller-manager-* flags).
type ControlPlaneOptions struct {
	// ControllerManagerMetricsAddress is where the controller manager
	// serves /metrics, as `kemudi controller-manager --metrics-address`
	// ("": off).
	ControllerManagerMetricsAddress string
	// ClusterSigningCertFile and ClusterSigningKeyFile are the CA the
	// controller manager signs CSRs with (the server's own CA).
	ClusterSigningCertFile, ClusterSigningKeyFile string
	// ClusterSigningDuration is the longest certificate the signer
	// issues (0: the controller manager's default, a year).
	ClusterSigningDuration time.Duration
	// TerminatedPodGCThreshold is how many terminated pods may exist
	// before the pod garbage collector deletes the oldest (<= 0: never;
	// nil: the controller manager's default, 12500).
	TerminatedPodGCThreshold *int
	// LBAddressPool is the cloud controller manager's load balancer
	// address pool (--lb-address-pool; "": the nodes' addresses).
	LBAddressPool string
}

// ControlPlane returns the components `kemudi server` runs beside the
// API server, with their default settings.
func ControlPlane() []Component {
	return ControlPlaneOptions{}.Components()
}

// Components returns the components `kemudi server` runs beside the API
// server.
func (o ControlPlaneOptions) Components() []Component {
	return []Component{
		{
			Name: "scheduler", User: "system:kube-scheduler",
			Run: func(ctx context.Context, cfg *rest.Config, log *slog.Logger) error {
				opts := scheduler.DefaultOptions()
				opts.Log = log
				return scheduler.Run(ctx, cfg, opts)
			},
		},
		{
			Name: "controller-manager", User: "system:kube-controller-manager",
			Run: func(ctx context.Context, cfg *rest.Config, log *slog.Logger) error {
				opts := manager.DefaultOptions()
				opts.Log = log
				opts.MetricsAddress = o.ControllerManagerMetricsAddress
				opts.Controller.ClusterSigningCertFile = o.ClusterSigningCertFile
				opts.Controller.ClusterSigningKeyFile = o.ClusterSigningKeyFile
				if o.ClusterSigningDuration > 0 {
					opts.Controller.ClusterSigningDuration = o.ClusterSigningDuration
				}
				if o.TerminatedPodGCThreshold != nil {
					opts.Controller.TerminatedPodGCThreshold = *o.TerminatedPodGCThreshold
				}
				return manager.Run(ctx, cfg, opts)
			},
		},
		o.cloudControllerManager(),
	}
}

// ComponentConfig returns a client config for a component, authenticating
// with a client certificate the cluster CA signs for it, and writes it to
// <data-dir>/<name>.kubeconfig for the component's standalone command.
func (s *Server) ComponentConfig(name, user string, groups []string) (*rest.Config, error) {
	cert, err := s.PKI.ClientCert(name, user, groups)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(s.dataDir, name+".kubeconfig")
	if err := WriteKubeconfig(path, s.URL, s.PKI.CAPEM(), cert); err != nil {
		return nil, err
	}
	certPEM, keyPEM, err := pemPair(cert)
	if err != nil {
		return nil, err
	}
	return &rest.Config{
		Host:            s.URL,
		TLSClientConfig: rest.TLSClientConfig{CAData: s.PKI.CAPEM(), CertData: certPEM, KeyData: keyPEM},
	}, nil
}

// RunComponents starts components under a Supervisor and returns at
// once. Wait on the returned function: it returns when ctx ends (nil) or
// when a component kept failing (its error; the others are stopped).
func (s *Server) RunComponents(ctx context.Context, comps []Component, log *slog.Logger) (wait func() error, err error) {
	// Every component's credentials first, so that a failure leaves
	// nothing running.
	cfgs := make([]*rest.Config, len(comps))
	for i, c := range comps {
		// The certificate kubeconfig is written for the component's
		// standalone command even when it runs here on a local socket.
		cfg, err := s.ComponentConfig(c.Name, c.User, c.Groups)
		if err != nil {
			return nil, fmt.Errorf("%s credentials: %w", c.Name, err)
		}
		if local, ok, err := s.LocalConfig(c.Name, c.User, c.Groups); err != nil {
			return nil, err
		} else if ok {
			cfg = local
		}
		cfgs[i] = cfg
	}
	tasks := make([]component.Task, len(comps))
	for i, c := range comps {
		// Each component names itself in its log.
		tasks[i] = component.Task{Name: c.Name, Restart: true, Run: func(ctx context.Context) error { return c.Run(ctx, cfgs[i], log) }}
	}
	done := make(chan error, 1)
	go func() { done <- component.NewSupervisor(log).Run(ctx, tasks...) }()
	return sync.OnceValue(func() error { return <-done }), nil
}
