package kubelet

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// worker drives one pod: it syncs when the pod object changes, the
// runtime reports a change of its containers, a probe result changes,
// a back-off ends, or every SyncFrequency.
type worker struct {
	k   *Kubelet
	uid types.UID

	mu  sync.Mutex
	pod *corev1.Pod // nil: not (or no longer) in the API
	ch  chan struct{}
	// evicted is the eviction message once the eviction manager chose
	// this pod: it is killed and ends Failed with reason Evicted.
	evicted string
	// admitted or rejected, once the node's admission decided (admit.go).
	admitted bool
	rejected *Rejection
	// alloc is the pod's allocation once admitted (allocation.go): the
	// resources its containers run with.
	alloc *Allocation

	// Owned by the worker's goroutine.
	backoff  map[string]time.Duration // restart back-off by container name
	pulls    map[string]pullState     // image pull back-off by image
	waiting  map[string]Reason        // why a container is not running
	messages map[string]string        // termination messages by container ID
	written  string                   // the status last written, as JSON

	resizing resizeState // in-place resize (resize_sync.go)
	// deferred: the pod's resize waits for room (read by other pods'
	// workers when they end).
	deferred atomic.Bool
	// ended: the pod ran to its end and other pods' deferred resizes
	// were woken.
	ended bool
	// released: the ended pod's CSI volumes are unpublished.
	released    bool
	mountFailed bool      // the last volume set-up failed: retry soon
	volumesAt   time.Time // when the volumes were last written

	// For the metrics: when the worker began; whether its pod's start
	// was observed; whether it synced once; whether the pod object
	// changed since the last sync (updated is under mu).
	firstSeen             time.Time
	startRecorded, synced bool
	updated               bool
}

func newWorker(k *Kubelet, uid types.UID) *worker {
	return &worker{k: k, uid: uid, ch: make(chan struct{}, 1), firstSeen: time.Now(),
		backoff: map[string]time.Duration{}, pulls: map[string]pullState{},
		waiting: map[string]Reason{}, messages: map[string]string{}}
}

func (w *worker) setPod(pod *corev1.Pod) {
	w.mu.Lock()
	w.pod = pod
	w.updated = true
	w.mu.Unlock()
	w.poke()
}

func (w *worker) currentPod() *corev1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pod
}

func (w *worker) poke() {
	select {
	case w.ch <- struct{}{}:
	default:
	}
}

func (w *worker) setWaiting(name, reason, msg string) {
	w.waiting[name] = Reason{Reason: reason, Message: msg}
}

func (w *worker) run(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.ch:
		case <-t.C:
		}
		start, op := time.Now(), w.operation()
		next, done := w.sync(ctx)
		w.k.opts.Metrics.PodSynced(op, start)
		if done && w.retire() {
			return
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(next)
	}
}

// operation is upstream's operation_type of the sync about to run:
// create for a pod's first, update after its object changed, terminated
// once it is gone from the API, sync otherwise.
func (w *worker) operation() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	updated, gone := w.updated, w.pod == nil
	w.updated = false
	switch {
	case gone:
		return "terminated"
	case !w.synced:
		w.synced = true
		return "create"
	case updated:
		return "update"
	}
	return "sync"
}

// retire removes the worker unless the pod came back meanwhile.
func (w *worker) retire() bool {
	w.k.mu.Lock()
	defer w.k.mu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pod != nil {
		return false
	}
	if w.k.workers[w.uid] == w {
		delete(w.k.workers, w.uid)
	}
	return true
}
