package scheduler

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/google/uuid"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/kemudi/kemudi/internal/apiclient"
)

// ClientConfig is the scheduler's client: protobuf, no client-side rate
// limit (upstream's 50 QPS would cap it at 50 bindings a second).
func ClientConfig(cfg *rest.Config) *rest.Config {
	return apiclient.Unlimited(cfg, "kube-scheduler")
}

// Run runs the scheduler against the API at cfg until ctx ends. With
// leader election it schedules only while it holds the Lease; losing
// it stops scheduling (bindings in flight finish) and it campaigns again
// with a fresh cache, which is also how it recovers after a restart.
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
	log := opts.Log.With("component", "scheduler")
	host, _ := os.Hostname()
	broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: client.EventsV1()})
	broadcaster.StartRecordingToSink(ctx.Done())
	defer broadcaster.Shutdown()

	run := func(ctx context.Context) {
		s, err := New(client, broadcaster, opts)
		if err != nil {
			log.Error("build scheduler", "err", err)
			return
		}
		if err := s.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("scheduler stopped", "err", err)
		}
	}
	if !opts.LeaderElect {
		run(ctx)
		return nil
	}
	identity := opts.Identity
	if identity == "" {
		identity = host + "_" + uuid.NewString()
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: opts.LeaseNamespace, Name: opts.LeaseName},
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: identity},
	}
	for ctx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:            lock,
			LeaseDuration:   opts.LeaseDuration,
			RenewDeadline:   opts.RenewDeadline,
			RetryPeriod:     opts.RetryPeriod,
			ReleaseOnCancel: true,
			Name:            opts.LeaseName,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(ctx context.Context) {
					log.Info("leading", "lease", opts.LeaseNamespace+"/"+opts.LeaseName, "identity", identity)
					run(ctx)
				},
				OnStoppedLeading: func() { log.Info("not leading", "lease", opts.LeaseNamespace+"/"+opts.LeaseName) },
				OnNewLeader:      func(id string) { log.Debug("leader", "lease", opts.LeaseName, "identity", id) },
			},
		})
		if err != nil {
			return err
		}
		le.Run(ctx)
	}
	return nil
}
