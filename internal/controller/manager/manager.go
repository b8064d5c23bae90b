// Package manager is kemudi's kube-controller-manager: it runs the chosen
// controllers in one process, as API clients sharing one set of informers,
// while it holds the kube-system/kube-controller-manager Lease.
package manager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/internal/apiclient"
	"github.com/kemudi/kemudi/internal/controller"
	"github.com/kemudi/kemudi/internal/leaderelect"
)

// Runner is a built controller.
type Runner interface {
	// Run runs the controller until ctx ends. Informers are started and
	// synced before Run is called.
	Run(ctx context.Context) error
}

// Constructor builds a controller from the shared context; it registers
// its informer handlers there.
type Constructor func(c *controller.Context) (Runner, error)

// Options configure the controller manager.
type Options struct {
	// Controllers selects what runs, as upstream's --controllers: "*" is
	// every controller that is on by default, "name" adds one, "-name"
	// removes one.
	Controllers []string
	// LeaderElect makes the manager run controllers only while it holds
	// the kube-system/kube-controller-manager Lease.
	LeaderElect bool
	// Identity names this manager in the Lease (default: host name and a
	// random suffix).
	Identity string
	// LeaseDuration, RenewDeadline and RetryPeriod are the leader
	// election timings (upstream's: 15s, 10s, 2s).
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// MetricsAddress, when set, is where /metrics is served over plain
	// HTTP: the controllers' work queues (upstream's workqueue_* with a
	// name label), Go runtime and process metrics. Give it a loopback
	// address.
	MetricsAddress string
	// UseServiceAccountCredentials gives each controller the client of
	// its own service account in kube-system (ServiceAccounts), as
	// upstream's --use-service-account-credentials; otherwise every
	// controller acts as the manager.
	UseServiceAccountCredentials bool
	// Controller holds the settings of individual controllers.
	Controller controller.Options
	Log        *slog.Logger
}

// Validate checks what would make Run fail at once.
func (o *Options) Validate() error {
	_, err := selected(o.Controllers)
	return err
}

// DefaultOptions run every default controller with leader election.
func DefaultOptions() Options {
	return Options{Controllers: []string{"*"}, LeaderElect: true, UseServiceAccountCredentials: true, Controller: controller.DefaultOptions(), Log: slog.Default()}
}

// Run runs the controller manager against the API at cfg until ctx ends.
func Run(ctx context.Context, cfg *rest.Config, opts Options) error {
	cfg = apiclient.Protobuf(cfg)
	if cfg.QPS == 0 {
		// Our own API server is fast; upstream's 20 QPS default would be
		// the bottleneck of every rollout.
		cfg.QPS, cfg.Burst = 2000, 4000
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "kube-controller-manager"
	}
	// Controllers use deprecated APIs on purpose (v1 Endpoints); the
	// warnings are for people, not for the log of every sync.
	cfg.WarningHandler = rest.NoWarnings{}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("controller manager client: %w", err)
	}
	names, err := selected(opts.Controllers)
	if err != nil {
		return err
	}
	log := opts.Log.With("component", "controller-manager")
	copts := opts.Controller
	if len(copts.RootCA) == 0 {
		if copts.RootCA, err = rootCA(cfg); err != nil {
			return err
		}
	}
	metrics, stopMetrics, err := serveMetrics(opts.MetricsAddress, log)
	if err != nil {
		return err
	}
	defer stopMetrics()
	work := func(ctx context.Context) error {
		var creds *credentials
		if opts.UseServiceAccountCredentials {
			creds = newCredentials(cfg, client)
		}
		return runControllers(ctx, cfg, client, creds, copts, names, metrics, log)
	}
	if !opts.LeaderElect {
		return work(ctx)
	}
	return leaderelect.Run(ctx, leaderelect.Config{
		Client:        client.CoordinationV1(),
		Namespace:     metav1.NamespaceSystem,
		Name:          "kube-controller-manager",
		Identity:      opts.Identity,
		LeaseDuration: opts.LeaseDuration,
		RenewDeadline: opts.RenewDeadline,
		RetryPeriod:   opts.RetryPeriod,
		Log:           log,
	}, work)
}

// runControllers builds the controllers, starts the informers and runs
// the controllers until ctx ends (nil) or one of them fails (its error,
// after stopping the others).
func runControllers(ctx context.Context, cfg *rest.Config, client kubernetes.Interface, creds *credentials, opts controller.Options, names []string, metrics *controller.Metrics, log *slog.Logger) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	cc := controller.NewContext(client, log)
	cc.Config = cfg
	cc.Options = opts
	if metrics != nil {
		cc.Metrics = metrics
	}
	cc.StartEvents(ctx)
	all := Controllers()
	runners := map[string]Runner{}
	for _, name := range names {
		own, err := creds.contextFor(ctx, cc, name)
		if err != nil {
			return err
		}
		r, err := all[name].New(own)
		if err != nil {
			return fmt.Errorf("build %s controller: %w", name, err)
		}
		runners[name] = r
	}
	cc.Informers.Start(ctx.Done())
	defer cc.Informers.Shutdown()
	for typ, ok := range cc.Informers.WaitForCacheSync(ctx.Done()) {
		if !ok {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("informer for %v did not sync", typ)
		}
	}
	log.Info("controllers starting", "controllers", strings.Join(names, ","))
	var wg sync.WaitGroup
	for name, r := range runners {
		wg.Go(func() {
			if err := r.Run(ctx); err != nil && ctx.Err() == nil {
				cancel(fmt.Errorf("%s controller: %w", name, err))
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// rootCA is the CA the manager's client trusts, which upstream publishes
// when --root-ca-file is not given.
func rootCA(cfg *rest.Config) ([]byte, error) {
	if len(cfg.CAData) > 0 {
		return cfg.CAData, nil
	}
	if cfg.CAFile == "" {
		return nil, nil
	}
	data, err := os.ReadFile(cfg.CAFile)
	if err != nil {
		return nil, fmt.Errorf("read the API server's CA: %w", err)
	}
	return data, nil
}

// selected resolves --controllers into the names to run.
func selected(spec []string) ([]string, error) {
	all := Controllers()
	on := map[string]bool{}
	for _, s := range spec {
		switch {
		case s == "*":
			for name, c := range all {
				if !c.DisabledByDefault {
					on[name] = true
				}
			}
		case strings.HasPrefix(s, "-"):
			delete(on, s[1:])
			if _, ok := all[s[1:]]; !ok {
				return nil, fmt.Errorf("unknown controller %q", s[1:])
			}
		default:
			if _, ok := all[s]; !ok {
				return nil, fmt.Errorf("unknown controller %q", s)
			}
			on[s] = true
		}
	}
	var names []string
	for name := range on {
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}
