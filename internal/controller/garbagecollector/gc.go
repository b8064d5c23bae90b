package garbagecollector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/lru"

	"github.com/kemudi/kemudi/internal/controller"
)

const (
	// workers of each queue (upstream's --concurrent-gc-syncs default).
	workers = 20
	// resyncPeriod is how often discovery is read again for resources
	// added or removed.
	resyncPeriod = 30 * time.Second
	// newMonitorWait bounds the workers' pause for new monitors.
	newMonitorWait = time.Minute
)

// GC is the garbage collector.
type GC struct {
	metadata  metadata.Interface
	discovery discovery.DiscoveryInterface
	log       *slog.Logger

	mapperMu sync.RWMutex
	mapper   meta.RESTMapper

	monitorsMu sync.Mutex
	monitors   map[schema.GroupVersionResource]*monitor

	graph   *graph
	changes workqueue.TypedInterface[*change]
	// unapplied counts the changes added and not yet applied to graph.
	unapplied atomic.Int64
	absent    *absentOwners

	// workMu pauses the workers (each item under a read lock) while a
	// new resource's monitor fills the graph: an owner's orphaning or
	// deletion must not act before its dependents, listed in the same
	// initial list, are in the graph (as upstream's workerLock).
	workMu sync.RWMutex

	attemptToDelete workqueue.TypedRateLimitingInterface[types.UID]
	attemptToOrphan workqueue.TypedRateLimitingInterface[types.UID]
}

// New builds the garbage collector; it needs the context's client config
// (for its metadata client).
func New(c *controller.Context) (*GC, error) {
	if c.Config == nil {
		return nil, errors.New("garbage collector: no client config")
	}
	md, err := metadata.NewForConfig(c.Config)
	if err != nil {
		return nil, fmt.Errorf("garbage collector: metadata client: %w", err)
	}
	return newGC(md, c.Client.Discovery(), c.Logger("garbage-collector"), c.Metrics), nil
}

// newGC builds the collector; metrics (nil: none) count its queues.
func newGC(md metadata.Interface, dc discovery.DiscoveryInterface, log *slog.Logger, metrics workqueue.MetricsProvider) *GC {
	rl := workqueue.DefaultTypedControllerRateLimiter[types.UID]()
	return &GC{
		metadata:  md,
		discovery: dc,
		log:       log,
		monitors:  map[schema.GroupVersionResource]*monitor{},
		graph:     newGraph(),
		changes:   workqueue.NewTyped[*change](),
		absent:    newAbsentOwners(500),
		attemptToDelete: workqueue.NewTypedRateLimitingQueueWithConfig(rl,
			workqueue.TypedRateLimitingQueueConfig[types.UID]{Name: "garbage_collector_attempt_to_delete", MetricsProvider: metrics}),
		attemptToOrphan: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[types.UID](),
			workqueue.TypedRateLimitingQueueConfig[types.UID]{Name: "garbage_collector_attempt_to_orphan", MetricsProvider: metrics}),
	}
}

// Run watches every deletable resource and collects garbage until ctx
// ends.
func (gc *GC) Run(ctx context.Context) error {
	// On return: stop the monitors, shut the queues down, then wait for
	// the workers (they end when their queue is shut down).
	var wg sync.WaitGroup
	defer wg.Wait()
	defer gc.changes.ShutDown()
	defer gc.attemptToDelete.ShutDown()
	defer gc.attemptToOrphan.ShutDown()
	defer func() {
		gc.monitorsMu.Lock()
		for _, m := range gc.monitors {
			m.stop()
		}
		gc.monitorsMu.Unlock()
	}()

	// The graph builder runs first: monitors feed it while they list.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for gc.processChange() {
		}
	}()
	if err := wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		if _, err := gc.syncMonitors(ctx); err != nil {
			gc.log.Warn("discovery failed; retrying", "err", err)
			return false, nil
		}
		return true, nil
	}); err != nil {
		return nil
	}
	if err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(context.Context) (bool, error) {
		return gc.synced(), nil
	}); err != nil {
		return nil
	}
	gc.waitForGraph(ctx)
	gc.log.Info("graph synced; collecting", "objects", gc.graph.size())

	for i := 0; i < workers; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for gc.work(ctx, gc.attemptToDelete, gc.processDelete) {
			}
		}()
		go func() {
			defer wg.Done()
			for gc.work(ctx, gc.attemptToOrphan, gc.processOrphan) {
			}
		}()
	}
	ticker := time.NewTicker(resyncPeriod)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			gc.resyncMonitors(ctx)
		}
	}
}

func (gc *GC) processChange() bool {
	c, quit := gc.changes.Get()
	if quit {
		return false
	}
	defer gc.changes.Done(c)
	gc.apply(*c)
	gc.unapplied.Add(-1)
	return true
}

// graphSynced: every monitor has listed its resource and the graph holds
// what they listed, so an owner's dependents are known before the
// workers act on it.
func (gc *GC) graphSynced() bool {
	return gc.synced() && gc.unapplied.Load() == 0
}

// addChange queues a change for the graph.
func (gc *GC) addChange(c *change) {
	gc.unapplied.Add(1)
	gc.changes.Add(c)
}

// resyncMonitors watches the resources discovery newly lists; the
// workers wait until the new monitors have listed and the graph holds
// what they listed (at most newMonitorWait).
func (gc *GC) resyncMonitors(ctx context.Context) {
	gc.workMu.Lock()
	defer gc.workMu.Unlock()
	n, err := gc.syncMonitors(ctx)
	switch {
	case err != nil:
		gc.log.Warn("discovery failed", "err", err)
		return
	case n == 0:
		return
	}
	gc.log.Info("watching new resources", "count", n)
	gc.waitForGraph(ctx)
}

// waitForGraph waits, at most newMonitorWait (changes may keep coming),
// until the graph holds what the monitors listed.
func (gc *GC) waitForGraph(ctx context.Context) {
	wctx, cancel := context.WithTimeout(ctx, newMonitorWait)
	defer cancel()
	_ = wait.PollUntilContextCancel(wctx, 50*time.Millisecond, true, func(context.Context) (bool, error) {
		return gc.graphSynced(), nil
	})
}

func (gc *GC) work(ctx context.Context, q workqueue.TypedRateLimitingInterface[types.UID], fn func(context.Context, types.UID) error) bool {
	uid, quit := q.Get()
	if quit {
		return false
	}
	defer q.Done(uid)
	gc.workMu.RLock()
	err := fn(ctx, uid)
	gc.workMu.RUnlock()
	if err != nil {
		if ctx.Err() == nil {
			gc.log.Debug("retrying", "uid", uid, "err", err)
			q.AddRateLimited(uid)
		}
		return true
	}
	q.Forget(uid)
	return true
}

// absentOwners remembers owners known not to exist (most recent first).
type absentOwners struct{ c *lru.Cache }

func newAbsentOwners(n int) *absentOwners { return &absentOwners{c: lru.New(n)} }

func (a *absentOwners) add(r ref)      { a.c.Add(r, struct{}{}) }
func (a *absentOwners) has(r ref) bool { _, ok := a.c.Get(r); return ok }
