package cloud

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	cloudprovider "k8s.io/cloud-provider"

	"github.com/kemudi/kemudi/internal/apiclient"
	"github.com/kemudi/kemudi/internal/cloud/csiattacher"
	"github.com/kemudi/kemudi/internal/cloud/node"
	"github.com/kemudi/kemudi/internal/cloud/route"
	"github.com/kemudi/kemudi/internal/cloud/service"
	"github.com/kemudi/kemudi/internal/controller"
	"github.com/kemudi/kemudi/internal/leaderelect"
)

// LeaseName is the Lease the cloud controller managers elect a leader
// on, in kube-system (upstream's).
const LeaseName = "cloud-controller-manager"

// runner is a built controller.
type runner interface {
	Run(ctx context.Context) error
}

// builders builds each controller; errCannot says the provider cannot
// serve it (the controller is skipped, not an error).
func builders(cloud cloudprovider.Interface, o Options) map[string]func(*controller.Context) (runner, error) {
	return map[string]func(*controller.Context) (runner, error){
		ServiceController: func(c *controller.Context) (runner, error) {
			if _, ok := cloud.LoadBalancer(); !ok {
				return nil, errCannot
			}
			return service.New(c, cloud, o.ClusterName)
		},
		NodeController: func(c *controller.Context) (runner, error) {
			if !hasInstances(cloud) {
				return nil, errCannot
			}
			return node.New(c, cloud, o.NodeStatusUpdateFrequency)
		},
		NodeLifecycleController: func(c *controller.Context) (runner, error) {
			if !hasInstances(cloud) {
				return nil, errCannot
			}
			return node.NewLifecycle(c, cloud, o.NodeMonitorPeriod)
		},
		RouteController: func(c *controller.Context) (runner, error) {
			if r, ok := cloud.Routes(); !ok || r == nil || !o.ConfigureCloudRoutes {
				return nil, errCannot
			}
			return route.New(c, cloud, o.ClusterName, o.ClusterCIDRs, o.RouteReconciliationPeriod)
		},
		CSIAttacher: func(c *controller.Context) (runner, error) {
			p, ok := cloud.(csiattacher.Provider)
			if !ok {
				return nil, errCannot
			}
			return csiattacher.New(c, p.CSIDriverName(), p)
		},
	}
}

var errCannot = errors.New("not served by the provider")

func hasInstances(cloud cloudprovider.Interface) bool {
	if _, ok := cloud.InstancesV2(); ok {
		return true
	}
	_, ok := cloud.Instances()
	return ok
}

// Run runs the cloud controller manager with the provider o names
// against the API at cfg until ctx ends.
func Run(ctx context.Context, cfg *rest.Config, o Options) error {
	cloud, err := NewProvider(o)
	if err != nil {
		return err
	}
	return RunProvider(ctx, cfg, cloud, o)
}

// RunProvider runs the cloud controller manager with any provider (a
// real cloud's, or a test's).
func RunProvider(ctx context.Context, cfg *rest.Config, cloud cloudprovider.Interface, o Options) error {
	names, err := selected(o.Controllers)
	if err != nil {
		return err
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	log := o.Log.With("component", "cloud-controller-manager", "provider", cloud.ProviderName())
	cfg = apiclient.Protobuf(cfg)
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 2000, 4000
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "cloud-controller-manager"
	}
	cfg.WarningHandler = rest.NoWarnings{}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("cloud controller manager client: %w", err)
	}
	work := func(ctx context.Context) error { return runControllers(ctx, cfg, client, cloud, o, names, log) }
	if !o.LeaderElect {
		return work(ctx)
	}
	return leaderelect.Run(ctx, leaderelect.Config{
		Client:        client.CoordinationV1(),
		Namespace:     metav1.NamespaceSystem,
		Name:          LeaseName,
		Identity:      o.Identity,
		LeaseDuration: o.LeaseDuration,
		RenewDeadline: o.RenewDeadline,
		RetryPeriod:   o.RetryPeriod,
		Log:           log,
	}, work)
}

// runControllers builds the controllers the provider serves, starts
// the informers and runs the controllers until ctx ends or one fails.
func runControllers(ctx context.Context, cfg *rest.Config, client kubernetes.Interface, cloud cloudprovider.Interface, o Options, names []string, log *slog.Logger) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	cc := controller.NewContext(client, log)
	cc.Config = cfg
	cc.StartEvents(ctx)
	cloud.Initialize(clientBuilder{cfg}, ctx.Done())
	if u, ok := cloud.(cloudprovider.InformerUser); ok {
		u.SetInformers(cc.Informers)
	}
	all := builders(cloud, o)
	runners := map[string]runner{}
	var skipped []string
	for _, name := range names {
		r, err := all[name](cc)
		if errors.Is(err, errCannot) {
			skipped = append(skipped, name)
			continue
		}
		if err != nil {
			return fmt.Errorf("build %s: %w", name, err)
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
	running := make([]string, 0, len(runners))
	for name := range runners {
		running = append(running, name)
	}
	sort.Strings(running)
	log.Info("cloud controllers starting", "controllers", strings.Join(running, ","), "not-served-by-provider", strings.Join(skipped, ","))
	var wg sync.WaitGroup
	for name, r := range runners {
		wg.Go(func() {
			if err := r.Run(ctx); err != nil && ctx.Err() == nil {
				cancel(fmt.Errorf("%s: %w", name, err))
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// selected resolves --controllers into the names to run.
func selected(spec []string) ([]string, error) {
	all := []string{ServiceController, NodeController, NodeLifecycleController, RouteController, CSIAttacher}
	known := func(n string) bool {
		for _, a := range all {
			if a == n {
				return true
			}
		}
		return false
	}
	on := map[string]bool{}
	for _, s := range spec {
		switch {
		case s == "*":
			for _, a := range all {
				on[a] = true
			}
		case strings.HasPrefix(s, "-"):
			if !known(s[1:]) {
				return nil, fmt.Errorf("unknown controller %q (cloud controllers: %s)", s[1:], strings.Join(all, ", "))
			}
			delete(on, s[1:])
		default:
			if !known(s) {
				return nil, fmt.Errorf("unknown controller %q (cloud controllers: %s)", s, strings.Join(all, ", "))
			}
			on[s] = true
		}
	}
	var names []string
	for n := range on {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// clientBuilder gives a provider clients of the manager's own config,
// each with a user agent of its name.
type clientBuilder struct{ cfg *rest.Config }

func (b clientBuilder) Config(name string) (*rest.Config, error) {
	c := rest.CopyConfig(b.cfg)
	c.UserAgent = b.cfg.UserAgent + "/" + name
	return c, nil
}

func (b clientBuilder) ConfigOrDie(name string) *rest.Config {
	c, _ := b.Config(name)
	return c
}

func (b clientBuilder) Client(name string) (kubernetes.Interface, error) {
	c, _ := b.Config(name)
	return kubernetes.NewForConfig(c)
}

func (b clientBuilder) ClientOrDie(name string) kubernetes.Interface {
	c, err := b.Client(name)
	if err != nil {
		panic(err) // the interface's contract; the config was valid for our own client
	}
	return c
}
