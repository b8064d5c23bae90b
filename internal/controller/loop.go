package controller

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Sync reconciles the object behind one key ("namespace/name"): it reads
// the current state from listers, never from the event that enqueued the
// key, and makes the world agree with it.
type Sync func(ctx context.Context, key string) error

// Requeue is returned by a sync that wants its key again after a while
// even though nothing failed (e.g. minReadySeconds to wait out): the
// sync decides, the Loop touches the queue.
type Requeue struct{ After time.Duration }

func (r *Requeue) Error() string { return "requeue after " + r.After.String() }

// RequeueAfter is the sync result that asks for the key again after d.
func RequeueAfter(d time.Duration) error { return &Requeue{After: d} }

// RequeueSoonest asks for the key again after the shortest of the
// positive delays (several things to wait out: the first to end looks
// again); nil when none is positive.
func RequeueSoonest(delays ...time.Duration) error {
	var soonest time.Duration
	for _, d := range delays {
		if d > 0 && (soonest == 0 || d < soonest) {
			soonest = d
		}
	}
	if soonest == 0 {
		return nil
	}
	return RequeueAfter(soonest)
}

// errTerminal marks an error retrying cannot fix; the key is dropped.
type errTerminal struct{ err error }

func (e *errTerminal) Error() string { return e.err.Error() }
func (e *errTerminal) Unwrap() error { return e.err }

// Terminal wraps an error that retrying will not fix (the key is dropped
// and the error logged once).
func Terminal(err error) error { return &errTerminal{err} }

// WarnAfterRetries is how many failed syncs of one key in a row are
// logged at debug level before the failures are logged at warn: with
// the default backoff (5 ms doubling) that is about 5 s of failing, past
// the conflicts and not-yet-synced caches that heal on their own.
const WarnAfterRetries = 10

// Loop is one controller's queue of keys and the workers that sync them:
// the requeue rules (rate-limited retry on error, Requeue, Terminal) live
// here and nowhere else.
type Loop struct {
	Queue workqueue.TypedRateLimitingInterface[string]
	Sync  Sync
	Log   *slog.Logger
	// WarnAfter is the number of retries of a key from which its
	// failures are logged at warn (default WarnAfterRetries).
	WarnAfter int
}

// NewLoop returns a loop with upstream's default rate limiter (per-item
// exponential backoff from 5 ms to 1000 s, and an overall token bucket)
// and no metrics; controllers use Context.NewLoop.
func NewLoop(name string, sync Sync, log *slog.Logger) *Loop {
	return newLoop(name, sync, log, workqueue.DefaultTypedControllerRateLimiter[string](), nil)
}

func newLoop(name string, sync Sync, log *slog.Logger, limiter workqueue.TypedRateLimiter[string], metrics workqueue.MetricsProvider) *Loop {
	return &Loop{
		Queue: workqueue.NewTypedRateLimitingQueueWithConfig(limiter,
			workqueue.TypedRateLimitingQueueConfig[string]{Name: name, MetricsProvider: metrics}),
		Sync:      sync,
		Log:       log,
		WarnAfter: WarnAfterRetries,
	}
}

// Enqueue adds an object's key; use it as an informer event handler.
func (l *Loop) Enqueue(obj interface{}) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		l.Log.Error("cannot enqueue", "err", err)
		return
	}
	l.Queue.Add(key)
}

// EnqueueAfter adds an object's key after a delay.
func (l *Loop) EnqueueAfter(obj interface{}, d time.Duration) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		return
	}
	l.Queue.AddAfter(key, d)
}

// Handlers enqueues on every add, update and delete.
func (l *Loop) Handlers() cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    l.Enqueue,
		UpdateFunc: func(_, obj interface{}) { l.Enqueue(obj) },
		DeleteFunc: l.Enqueue,
	}
}

// DeletedObject returns the object of a delete event as a T, unwrapping
// the cache.DeletedFinalStateUnknown that a deletion the watch missed
// arrives as.
func DeletedObject[T any](obj interface{}) (T, bool) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	t, ok := obj.(T)
	return t, ok
}

// Run processes keys with workers until ctx ends, then drains.
func (l *Loop) Run(ctx context.Context, workers int) {
	defer l.Queue.ShutDown()
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for l.next(ctx) {
			}
		}()
	}
	<-ctx.Done()
	l.Queue.ShutDown()
	wg.Wait()
}

func (l *Loop) next(ctx context.Context) bool {
	key, quit := l.Queue.Get()
	if quit {
		return false
	}
	defer l.Queue.Done(key)
	err := l.Sync(ctx, key)
	var requeue *Requeue
	var terminal *errTerminal
	switch {
	case err == nil:
		l.Queue.Forget(key)
	case errors.As(err, &requeue):
		l.Queue.Forget(key)
		l.Queue.AddAfter(key, requeue.After)
	case errors.As(err, &terminal):
		l.Queue.Forget(key)
		l.Log.Error("sync failed; not retrying", "key", key, "err", err)
	case ctx.Err() != nil:
	default:
		// The retries so far, this failure not counted.
		retries := l.Queue.NumRequeues(key)
		level := slog.LevelDebug
		if retries+1 >= l.WarnAfter {
			level = slog.LevelWarn
		}
		l.Log.Log(ctx, level, "sync failed; retrying", "key", key, "retries", retries+1, "err", err)
		l.Queue.AddRateLimited(key)
	}
	return true
}
