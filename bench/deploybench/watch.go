package deploybench

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// podTracker follows every pod of the namespace from one watch.
type podTracker struct {
	mu      sync.Mutex
	pods    map[string]podState
	created int
	// bySet counts the pods created per ReplicaSet (by owner name).
	bySet map[string]int
	// per Deployment (app label): active and available pods now, and
	// the extremes seen.
	activeBy, availableBy map[string]int
	mostPods              int
	fewestAvailable       int
	updating              bool
}

type podState struct {
	app, image        string
	active, available bool
	// when the watch saw the pod created, bound to a node, and ready.
	created, bound, ready time.Time
}

func watchPods(ctx context.Context, c kubernetes.Interface) (*podTracker, error) {
	t := &podTracker{bySet: map[string]int{}, pods: map[string]podState{}, activeBy: map[string]int{}, availableBy: map[string]int{}, fewestAvailable: -1}
	list, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	lw := &cache.ListWatch{
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return c.CoreV1().Pods(ns).Watch(ctx, o)
		},
	}
	w, err := watchtools.NewRetryWatcherWithContext(ctx, list.ResourceVersion, lw)
	if err != nil {
		return nil, err
	}
	go func() {
		defer w.Stop()
		for ev := range w.ResultChan() {
			if p, ok := ev.Object.(*corev1.Pod); ok {
				t.apply(ev.Type, p)
			}
		}
	}()
	return t, nil
}

func (t *podTracker) apply(typ watch.EventType, p *corev1.Pod) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old, seen := t.pods[p.Name]
	if typ == watch.Added && !seen {
		t.created++
		if ref := metav1.GetControllerOf(p); ref != nil {
			t.bySet[ref.Name]++
		}
	}
	now := time.Now()
	cur := podState{app: p.Labels["app"], image: p.Spec.Containers[0].Image, created: old.created, bound: old.bound, ready: old.ready}
	if cur.created.IsZero() {
		cur.created = now
	}
	if cur.bound.IsZero() && p.Spec.NodeName != "" {
		cur.bound = now
	}
	if typ != watch.Deleted {
		cur.active = p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed
		cur.available = cur.active && ready(p)
		if cur.available && cur.ready.IsZero() {
			cur.ready = now
		}
	}
	if old.active {
		t.activeBy[old.app]--
	}
	if old.available {
		t.availableBy[old.app]--
	}
	if typ == watch.Deleted {
		delete(t.pods, p.Name)
	} else {
		t.pods[p.Name] = cur
	}
	if cur.active {
		t.activeBy[cur.app]++
		t.mostPods = max(t.mostPods, t.activeBy[cur.app])
	}
	if cur.available {
		t.availableBy[cur.app]++
	}
	if t.updating && old.available && !cur.available {
		if n := t.availableBy[old.app]; t.fewestAvailable < 0 || n < t.fewestAvailable {
			t.fewestAvailable = n
		}
	}
}

func ready(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// startUpdate starts tracking the fewest available pods.
func (t *podTracker) startUpdate() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.updating = true
}

func (t *podTracker) count(f func(podState) bool) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, s := range t.pods {
		if f(s) {
			n++
		}
	}
	return n
}

// available counts the available pods running image.
func (t *podTracker) available(image string) int {
	return t.count(func(s podState) bool { return s.available && s.image == image })
}

// active counts the pods neither being deleted nor finished.
func (t *podTracker) active() int { return t.count(func(s podState) bool { return s.active }) }

// existing counts the pods that exist at all.
func (t *podTracker) existing() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.pods)
}

func (t *podTracker) takeCreated() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.created
	t.created = 0
	return n
}

func (t *podTracker) bounds() (most, fewest int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.mostPods, t.fewestAvailable
}

func (t *podTracker) summary() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	active, available := 0, 0
	for _, s := range t.pods {
		if s.active {
			active++
		}
		if s.available {
			available++
		}
	}
	return fmt.Sprintf("%d pods, %d active, %d available", len(t.pods), active, available)
}

// overfull returns the sets that got more than n pods.
func (t *podTracker) overfull(n int) map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string]int{}
	for k, v := range t.bySet {
		if v > n {
			out[k] = v
		}
	}
	return out
}

// Latency is how long the pods of a phase took through each stage.
type Latency struct {
	// LastCreated is when the last pod was created, from the start.
	LastCreated time.Duration
	// Scheduled (created to bound) and Started (bound to ready), p50
	// and p99.
	Scheduled, Started [2]time.Duration
}

// latency measures the pods running image, from start.
func (t *podTracker) latency(image string, start time.Time) Latency {
	t.mu.Lock()
	defer t.mu.Unlock()
	var l Latency
	var sched, started []time.Duration
	for _, s := range t.pods {
		if s.image != image || s.ready.IsZero() {
			continue
		}
		l.LastCreated = max(l.LastCreated, s.created.Sub(start))
		sched = append(sched, s.bound.Sub(s.created))
		started = append(started, s.ready.Sub(s.bound))
	}
	q := func(d []time.Duration) [2]time.Duration {
		if len(d) == 0 {
			return [2]time.Duration{}
		}
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return [2]time.Duration{d[len(d)/2], d[len(d)*99/100]}
	}
	l.Scheduled, l.Started = q(sched), q(started)
	return l
}
