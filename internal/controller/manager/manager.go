// Package manager is kemudi's kube-controller-manager: it runs the chosen
// controllers in one process, as API clients sharing one set of informers,
// while it holds the kube-system/kube-controller-manager Lease.
package manager

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/kemudi/kemudi/internal/apiclient"
	"github.com/kemudi/kemudi/internal/controller"
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
	// Controller holds the settings of individual controllers.
	Controller controller.Options
	Log        *slog.Logger
}

// DefaultOptions run every default controller with leader election.
func DefaultOptions() Options {
	return Options{Controllers: []string{"*"}, LeaderElect: true, Controller: controller.DefaultOptions(), Log: slog.Default()}
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
	run := func(ctx context.Context) {
		if err := runControllers(ctx, cfg, client, copts, names, log); err != nil && ctx.Err() == nil {
			log.Error("controllers stopped", "err", err)
		}
	}
	if !opts.LeaderElect {
		run(ctx)
		return nil
	}
	return leaderElect(ctx, client, "kube-controller-manager", opts.Identity, log, run)
}

func runControllers(ctx context.Context, cfg *rest.Config, client kubernetes.Interface, opts controller.Options, names []string, log *slog.Logger) error {
	cc := controller.NewContext(client, log)
	cc.Config = cfg
	cc.Options = opts
	cc.StartEvents(ctx)
	all := Controllers()
	runners := map[string]Runner{}
	for _, name := range names {
		r, err := all[name].New(cc)
		if err != nil {
			return fmt.Errorf("build %s controller: %w", name, err)
		}
		runners[name] = r
	}
	cc.Informers.Start(ctx.Done())
	for typ, ok := range cc.Informers.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("informer for %v did not sync", typ)
		}
	}
	log.Info("controllers starting", "controllers", strings.Join(names, ","))
	var wg sync.WaitGroup
	for name, r := range runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.Run(ctx); err != nil && ctx.Err() == nil {
				log.Error("controller stopped", "controller", name, "err", err)
			}
		}()
	}
	wg.Wait()
	cc.Informers.Shutdown()
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

// leaderElect runs run while holding the named Lease in kube-system.
func leaderElect(ctx context.Context, client kubernetes.Interface, name, identity string, log *slog.Logger, run func(context.Context)) error {
	if identity == "" {
		host, _ := os.Hostname()
		identity = host + "_" + uuid.NewString()
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metaFor(name),
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: identity},
	}
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   15 * time.Second,
		RenewDeadline:   10 * time.Second,
		RetryPeriod:     2 * time.Second,
		ReleaseOnCancel: true,
		Name:            name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: run,
			OnStoppedLeading: func() { log.Info("lost or released the lease", "lease", name) },
			OnNewLeader:      func(id string) { log.Debug("leader", "lease", name, "identity", id) },
		},
	})
	if err != nil {
		return err
	}
	le.Run(ctx)
	return nil
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
