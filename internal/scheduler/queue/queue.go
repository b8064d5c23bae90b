// Package queue is the scheduler's queue of pending pods, upstream's
// priority queue: pods ready to be scheduled wait in the active heap
// (highest priority first, then oldest); a pod that failed waits out an
// exponential backoff in the backoff heap; a pod no node fits waits in
// the unschedulable pool until a cluster change that could help it
// (a node added or changed, a pod deleted, a claim bound) moves it back,
// never by polling; gated pods (spec.schedulingGates) wait there too
// until their gates are removed.
//
// A change that arrives while a pod is being scheduled is remembered,
// so that the pod, if it then fails, is retried instead of parked: no
// wake-up is lost between the snapshot and the verdict.
package queue

import (
	"context"
	"errors"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/utils/clock"

	"github.com/kemudi/kemudi/internal/scheduler/framework"
)

// Upstream's defaults.
const (
	DefaultInitialBackoff = time.Second
	DefaultMaxBackoff     = 10 * time.Second
	// DefaultMaxUnschedulable is how long a pod may wait in the
	// unschedulable pool before it is retried anyway.
	DefaultMaxUnschedulable = 5 * time.Minute
)

// ErrClosed is returned by Pop once the queue is closed.
var ErrClosed = errors.New("scheduling queue is closed")

// QueuedPodInfo is a pending pod with its scheduling history.
type QueuedPodInfo struct {
	*framework.PodInfo
	// Timestamp is when the pod last entered the queue: it orders pods
	// of equal priority.
	Timestamp time.Time
	// Attempts counts scheduling attempts; the backoff doubles with each.
	Attempts int
	// Gated pods have scheduling gates and are not tried.
	Gated bool
	// failedAt is when its last attempt failed.
	failedAt time.Time
	// mask is the events that may help it while it waits.
	mask Event
}

// Options configure a Queue.
type Options struct {
	Clock            clock.WithTicker
	InitialBackoff   time.Duration
	MaxBackoff       time.Duration
	MaxUnschedulable time.Duration
	// Interest says which events may help pods each plugin rejected.
	Interest Interest
}

// Queue is the scheduling queue. Its methods are safe for concurrent use.
type Queue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	opts   Options
	active *podHeap
	// backoff orders pods by the end of their backoff.
	backoff       *podHeap
	unschedulable pool
	// inFlight maps the pods being scheduled to the sequence number of
	// the last event before they were popped; events keeps what arrived
	// since the oldest in-flight pod.
	inFlight map[types.UID]int64
	events   []recordedEvent
	seq      int64
	closed   bool
	// wake tells the timer loop that the earliest backoff changed.
	wake chan struct{}

	nominated nominator
}

type recordedEvent struct {
	seq   int64
	event Event
}

// New returns an empty queue.
func New(opts Options) *Queue {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.InitialBackoff == 0 {
		opts.InitialBackoff = DefaultInitialBackoff
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.MaxUnschedulable == 0 {
		opts.MaxUnschedulable = DefaultMaxUnschedulable
	}
	q := &Queue{
		opts:          opts,
		unschedulable: newPool(),
		inFlight:      map[types.UID]int64{},
		wake:          make(chan struct{}, 1),
		nominated:     newNominator(),
	}
	q.cond = sync.NewCond(&q.mu)
	q.active = newPodHeap(func(a, b *QueuedPodInfo) bool {
		pa, pb := framework.PodPriority(a.Pod), framework.PodPriority(b.Pod)
		if pa != pb {
			return pa > pb
		}
		return a.Timestamp.Before(b.Timestamp)
	})
	q.backoff = newPodHeap(func(a, b *QueuedPodInfo) bool {
		return q.backoffEnd(a).Before(q.backoffEnd(b))
	})
	return q
}

// backoffDuration is initial * 2^(attempts-1), capped.
func (q *Queue) backoffDuration(p *QueuedPodInfo) time.Duration {
	d := q.opts.InitialBackoff
	for i := 1; i < p.Attempts; i++ {
		if d > q.opts.MaxBackoff/2 {
			return q.opts.MaxBackoff
		}
		d *= 2
	}
	return min(d, q.opts.MaxBackoff)
}

func (q *Queue) backoffEnd(p *QueuedPodInfo) time.Time {
	return p.failedAt.Add(q.backoffDuration(p))
}

func (q *Queue) backingOff(p *QueuedPodInfo) bool {
	return !p.failedAt.IsZero() && q.backoffEnd(p).After(q.opts.Clock.Now())
}

func gated(pod *corev1.Pod) bool { return len(pod.Spec.SchedulingGates) > 0 }

// Add queues a new pending pod: gated pods wait in the unschedulable
// pool, others are tried at once. A pod nominated to a node (by a
// preemption before a restart) keeps its place there.
func (q *Queue) Add(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.add(pod)
}

func (q *Queue) add(pod *corev1.Pod) {
	if q.has(pod.UID) {
		return
	}
	p := &QueuedPodInfo{PodInfo: framework.NewPodInfo(pod), Timestamp: q.opts.Clock.Now()}
	if pod.Status.NominatedNodeName != "" {
		q.nominated.add(p.PodInfo, pod.Status.NominatedNodeName)
	}
	if gated(pod) {
		p.Gated = true
		q.unschedulable.add(p, 0)
		return
	}
	q.active.add(p)
	q.cond.Signal()
}

func (q *Queue) has(uid types.UID) bool {
	if _, ok := q.active.get(uid); ok {
		return true
	}
	if _, ok := q.backoff.get(uid); ok {
		return true
	}
	_, ok := q.unschedulable.get(uid)
	return ok
}

// Update records a change to a pending pod. A pod waiting as
// unschedulable or gated is retried when it changed in a way that
// could matter (its spec, labels or gates).
func (q *Queue) Update(old, pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.nominated.update(old, pod)
	if p, ok := q.active.get(pod.UID); ok {
		p.PodInfo = framework.NewPodInfo(pod)
		q.active.add(p)
		return
	}
	if p, ok := q.backoff.get(pod.UID); ok {
		p.PodInfo = framework.NewPodInfo(pod)
		q.backoff.add(p)
		return
	}
	if p, ok := q.unschedulable.get(pod.UID); ok {
		p.PodInfo = framework.NewPodInfo(pod)
		if p.Gated {
			if gated(pod) {
				return
			}
			p.Gated = false
			q.unschedulable.remove(pod.UID)
			p.Timestamp = q.opts.Clock.Now()
			q.active.add(p)
			q.cond.Signal()
			return
		}
		if schedulingChanged(old, pod) {
			q.unschedulable.remove(pod.UID)
			q.requeue(p)
		}
		return
	}
	if _, ok := q.inFlight[pod.UID]; ok {
		// The scheduler reads the pod anew if this attempt fails.
		return
	}
	q.add(pod)
}

// schedulingChanged is true when an update to a pending pod may change
// where it fits.
func schedulingChanged(old, pod *corev1.Pod) bool {
	if old == nil {
		return true
	}
	return old.Generation != pod.Generation || !labels.Equals(old.Labels, pod.Labels) ||
		old.Status.NominatedNodeName != pod.Status.NominatedNodeName
}

// requeue puts a pod that waited back: to backoff if its backoff is
// not over, else to active. Callers hold q.mu.
func (q *Queue) requeue(p *QueuedPodInfo) {
	if q.backingOff(p) {
		q.backoff.add(p)
		q.kick()
		return
	}
	p.Timestamp = q.opts.Clock.Now()
	q.active.add(p)
	q.cond.Signal()
}

func (q *Queue) kick() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Delete forgets a pod (deleted, or bound by someone).
func (q *Queue) Delete(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.nominated.delete(pod.UID)
	q.active.remove(pod.UID)
	q.backoff.remove(pod.UID)
	q.unschedulable.remove(pod.UID)
}

// Pop waits for the next pod to schedule and marks it in flight; call
// Done once its attempt is decided.
func (q *Queue) Pop(ctx context.Context) (*QueuedPodInfo, error) {
	stop := context.AfterFunc(ctx, func() {
		q.mu.Lock()
		q.cond.Broadcast()
		q.mu.Unlock()
	})
	defer stop()
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.active.len() == 0 {
		if q.closed {
			return nil, ErrClosed
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		q.cond.Wait()
	}
	p := q.active.pop()
	p.Attempts++
	q.inFlight[p.Pod.UID] = q.seq
	return p, nil
}

// Done ends a pod's attempt.
func (q *Queue) Done(uid types.UID) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.done(uid)
}

func (q *Queue) done(uid types.UID) {
	if _, ok := q.inFlight[uid]; !ok {
		return
	}
	delete(q.inFlight, uid)
	if len(q.inFlight) == 0 {
		q.events = q.events[:0]
		return
	}
	oldest := q.seq
	for _, s := range q.inFlight {
		oldest = min(oldest, s)
	}
	i := 0
	for i < len(q.events) && q.events[i].seq <= oldest {
		i++
	}
	q.events = append(q.events[:0], q.events[i:]...)
}

// AddUnschedulable takes back a pod whose attempt failed (pod is its
// current copy). A pod rejected by plugins waits for a relevant cluster
// change, unless one already arrived during the attempt; a pod that
// failed on an error backs off and is retried.
func (q *Queue) AddUnschedulable(p *QueuedPodInfo, pod *corev1.Pod, plugins sets.Set[string], isError bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	popped, inFlight := q.inFlight[p.Pod.UID]
	helped := inFlight && q.eventsSince(popped, plugins)
	q.done(p.Pod.UID)
	if q.has(p.Pod.UID) {
		return
	}
	p.PodInfo = framework.NewPodInfo(pod)
	p.failedAt = q.opts.Clock.Now()
	if isError || helped {
		q.backoff.add(p)
		q.kick()
		return
	}
	p.Timestamp = q.opts.Clock.Now()
	q.unschedulable.add(p, q.opts.Interest.mask(plugins))
}

// AddBackoff takes back a pod whose binding failed: it is retried after
// its backoff.
func (q *Queue) AddBackoff(p *QueuedPodInfo, pod *corev1.Pod) {
	q.AddUnschedulable(p, pod, nil, true)
}

func (q *Queue) eventsSince(seq int64, plugins sets.Set[string]) bool {
	for _, e := range q.events {
		if e.seq > seq && q.opts.Interest.relevant(e.event, plugins) {
			return true
		}
	}
	return false
}

// MoveAllToActiveOrBackoff reacts to a cluster change: the unschedulable
// pods it may help are retried, after what is left of their backoff.
func (q *Queue) MoveAllToActiveOrBackoff(event Event) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.inFlight) > 0 {
		q.seq++
		q.events = append(q.events, recordedEvent{seq: q.seq, event: event})
	}
	for _, p := range q.unschedulable.helped(event) {
		q.unschedulable.remove(p.Pod.UID)
		q.requeue(p)
	}
}

// Run moves pods whose backoff ended to the active heap, and pods that
// waited too long as unschedulable back into play, until ctx ends; then
// it closes the queue.
func (q *Queue) Run(ctx context.Context) {
	defer q.Close()
	leftover := q.opts.Clock.NewTicker(30 * time.Second)
	defer leftover.Stop()
	for {
		q.mu.Lock()
		next := q.flushBackoff()
		q.mu.Unlock()
		var timer <-chan time.Time
		var t clock.Timer
		if !next.IsZero() {
			t = q.opts.Clock.NewTimer(next.Sub(q.opts.Clock.Now()))
			timer = t.C()
		}
		select {
		case <-ctx.Done():
			if t != nil {
				t.Stop()
			}
			return
		case <-timer:
		case <-q.wake:
		case <-leftover.C():
			q.flushUnschedulable()
		}
		if t != nil {
			t.Stop()
		}
	}
}

// flushBackoff moves pods whose backoff ended and returns when the next
// one ends (zero if none). Callers hold q.mu.
func (q *Queue) flushBackoff() time.Time {
	now := q.opts.Clock.Now()
	for {
		p := q.backoff.peek()
		if p == nil {
			return time.Time{}
		}
		if end := q.backoffEnd(p); end.After(now) {
			return end
		}
		q.backoff.pop()
		p.Timestamp = now
		q.active.add(p)
		q.cond.Signal()
	}
}

func (q *Queue) flushUnschedulable() {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.opts.Clock.Now()
	for _, p := range q.unschedulable.byUID {
		if !p.Gated && now.Sub(p.Timestamp) > q.opts.MaxUnschedulable {
			q.unschedulable.remove(p.Pod.UID)
			q.requeue(p)
		}
	}
}

// Close wakes Pop callers with ErrClosed.
func (q *Queue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.cond.Broadcast()
}

// Counts returns the number of pods in each pool.
func (q *Queue) Counts() (active, backoff, unschedulable int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.active.len(), q.backoff.len(), q.unschedulable.len()
}

// AddNominatedPod records that pod will go to node once preemption
// made room; an empty node clears the nomination.
func (q *Queue) AddNominatedPod(pi *framework.PodInfo, node string) {
	q.nominated.mu.Lock()
	defer q.nominated.mu.Unlock()
	q.nominated.deleteLocked(pi.Pod.UID)
	if node != "" {
		q.nominated.addLocked(pi, node)
	}
}

// DeleteNominatedPod forgets a pod's nomination.
func (q *Queue) DeleteNominatedPod(uid types.UID) { q.nominated.delete(uid) }

// NominatedPods implements framework.Nominator.
func (q *Queue) NominatedPods() map[string][]*framework.PodInfo { return q.nominated.all() }

// NominatedPodsForNode returns the pods nominated to node.
func (q *Queue) NominatedPodsForNode(node string) []*framework.PodInfo {
	q.nominated.mu.Lock()
	defer q.nominated.mu.Unlock()
	return append([]*framework.PodInfo(nil), q.nominated.byNode[node]...)
}
