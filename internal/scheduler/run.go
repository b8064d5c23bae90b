package scheduler

import (
	"context"
	"fmt"
	"runtime/pprof"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"

	"github.com/kemudi/kemudi/internal/apiclient"
	"github.com/kemudi/kemudi/internal/leaderelect"
)

// ClientConfig is the scheduler's client: protobuf, no client-side rate
// limit (upstream's 50 QPS would cap it at 50 bindings a second).
func ClientConfig(cfg *rest.Config) *rest.Config {
	return apiclient.Unlimited(cfg, "kube-scheduler")
}

// Run runs the scheduler against the API at cfg until ctx ends. With
// leader election it schedules only while it holds the Lease; losing
// it stops scheduling at once (bindings in flight finish) and it
// campaigns again with a fresh cache, which is also how it recovers after
// a restart. It returns nil when ctx ends and an error when the scheduler
// cannot run.
//
// Its goroutines carry the profiler label component=scheduler, so that
// a CPU profile of a process running several components tells the
// scheduler's share (go tool pprof -tagfocus component=scheduler).
func Run(ctx context.Context, cfg *rest.Config, opts Options) (err error) {
	pprof.Do(ctx, pprof.Labels("component", "scheduler"), func(ctx context.Context) {
		err = run(ctx, cfg, opts)
	})
	return err
}

func run(ctx context.Context, cfg *rest.Config, opts Options) error {
	opts.defaults()
	client, err := kubernetes.NewForConfig(ClientConfig(cfg))
	if err != nil {
		return fmt.Errorf("scheduler client: %w", err)
	}
	broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: client.EventsV1()})
	broadcaster.StartRecordingToSink(ctx.Done())
	defer broadcaster.Shutdown()

	// Each term builds a scheduler afresh: a cache from a previous term
	// may miss what another leader did meanwhile.
	work := func(ctx context.Context) error {
		s, err := New(client, broadcaster, opts)
		if err != nil {
			return fmt.Errorf("build scheduler: %w", err)
		}
		return s.Run(ctx)
	}
	if !opts.LeaderElect {
		if err := work(ctx); err != nil && ctx.Err() == nil {
			return err
		}
		return nil
	}
	return leaderelect.Run(ctx, leaderelect.Config{
		Client:        client.CoordinationV1(),
		Namespace:     opts.LeaseNamespace,
		Name:          opts.LeaseName,
		Identity:      opts.Identity,
		LeaseDuration: opts.LeaseDuration,
		RenewDeadline: opts.RenewDeadline,
		RetryPeriod:   opts.RetryPeriod,
		Log:           opts.Log.With("component", "scheduler"),
	}, work)
}
