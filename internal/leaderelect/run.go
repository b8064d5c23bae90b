package leaderelect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/google/uuid"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1 "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Config names a Lease and the timings of holding it.
type Config struct {
	// Client reads and writes the Lease.
	Client coordinationv1.LeasesGetter
	// Namespace and Name are the Lease's (kube-system/kube-scheduler).
	Namespace, Name string
	// Identity is this process's name in the Lease's holderIdentity
	// (default DefaultIdentity()).
	Identity string
	// LeaseDuration is how long others wait after the last renewal before
	// taking the lease; RenewDeadline how long the holder keeps trying to
	// renew before it gives up; RetryPeriod how often it tries (upstream's
	// 15s, 10s, 2s by default).
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	Log                                       *slog.Logger
}

// DefaultIdentity is upstream's: the host name and a random suffix, so
// that two processes on one host differ.
func DefaultIdentity() string {
	host, _ := os.Hostname()
	return host + "_" + uuid.NewString()
}

func (c *Config) defaults() error {
	if c.Client == nil || c.Name == "" {
		return errors.New("leader election needs a client and a lease name")
	}
	if c.Namespace == "" {
		c.Namespace = metav1.NamespaceSystem
	}
	if c.Identity == "" {
		c.Identity = DefaultIdentity()
	}
	if c.LeaseDuration == 0 {
		c.LeaseDuration = 15 * time.Second
	}
	if c.RenewDeadline == 0 {
		c.RenewDeadline = 10 * time.Second
	}
	if c.RetryPeriod == 0 {
		c.RetryPeriod = 2 * time.Second
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.RenewDeadline >= c.LeaseDuration {
		return fmt.Errorf("lease renew deadline %s must be shorter than the lease duration %s", c.RenewDeadline, c.LeaseDuration)
	}
	return nil
}

// Run runs work while this process holds the Lease, until ctx ends.
// Losing the lease (another process holds it, or it could not be
// renewed for RenewDeadline) cancels work's context at once, waits for
// work to return and campaigns again. When ctx ends the lease is
// released, so that another process takes over without waiting for it
// to expire.
//
// Run returns nil when ctx ends, and work's error when work fails
// (after releasing the lease): whether to try again is the caller's
// decision.
func Run(ctx context.Context, cfg Config, work func(ctx context.Context) error) error {
	if err := cfg.defaults(); err != nil {
		return err
	}
	lease := cfg.Namespace + "/" + cfg.Name
	log := cfg.Log.With("lease", lease, "identity", cfg.Identity)
	lock := &watchedLock{Interface: &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: cfg.Namespace, Name: cfg.Name},
		Client:     cfg.Client,
		LockConfig: resourcelock.ResourceLockConfig{Identity: cfg.Identity},
	}, renewDeadline: cfg.RenewDeadline}
	for {
		log.Info("campaigning for the lease")
		err, led := term(ctx, cfg, lock, log, work)
		if err != nil || ctx.Err() != nil {
			return err
		}
		if led {
			log.Warn("lost the lease; stopped working until it is won again")
		}
	}
}

// term is one campaign and, if it is won, one term of leadership. It
// returns work's error, and whether this process led.
func term(ctx context.Context, cfg Config, lock *watchedLock, log *slog.Logger, work func(context.Context) error) (workErr error, led bool) {
	// electCtx ends the elector: when ctx ends, when the lease is lost,
	// and when work fails.
	electCtx, stopElector := context.WithCancel(ctx)
	defer stopElector()
	done := make(chan struct{})
	lock.reset()
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:          lock,
		LeaseDuration: cfg.LeaseDuration,
		RenewDeadline: cfg.RenewDeadline,
		RetryPeriod:   cfg.RetryPeriod,
		// Releasing on the way out lets the next holder start at once
		// rather than after LeaseDuration.
		ReleaseOnCancel: true,
		Name:            cfg.Name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(leCtx context.Context) {
				defer close(done)
				workCtx, stopWork := context.WithCancel(leCtx)
				defer stopWork()
				lock.leading(stopWork)
				defer lock.leading(nil)
				log.Info("leading")
				if err := work(workCtx); err != nil && workCtx.Err() == nil {
					workErr = err
				}
				// Work stopped (lost lease, ctx ended, or failed): end the
				// elector too, which releases the lease if it still
				// holds it.
				stopElector()
			},
			OnStoppedLeading: func() {},
			OnNewLeader: func(id string) {
				if id != cfg.Identity {
					log.Info("another process leads", "leader", id)
				}
			},
		},
	})
	if err != nil {
		return err, false
	}
	le.Run(electCtx)
	if !lock.won() {
		return nil, false
	}
	// The elector returns without waiting for work (it starts it once
	// the lease is won): wait, so that two terms never overlap.
	stopElector()
	<-done
	return workErr, true
}
