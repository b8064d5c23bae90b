package apibench

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// watcher follows the benchmark's namespace from a resourceVersion
// taken from a list before the creates start, and notes when each
// pod's ADDED event arrives.
type watcher struct {
	c     *client
	ns    string
	index map[string]int // pod name to index

	// Written by run only; read after done is closed.
	arrived    []time.Time // zero: no ADDED seen
	added      int
	duplicates int // ADDED twice for one pod
	unexpected int // ADDED for a pod we did not create, or other event types
	restarts   int // the watch ended and was resumed
	errs       []string
	listRV     string // the list's resourceVersion the watch starts from

	// expect receives which creates succeeded, once they are done; run
	// returns when all of those have arrived.
	expect chan []bool
	done   chan struct{}
}

func newWatcher(c *client, ns string, names []string) *watcher {
	w := &watcher{
		c: c, ns: ns,
		index:   make(map[string]int, len(names)),
		arrived: make([]time.Time, len(names)),
		expect:  make(chan []bool, 1),
		done:    make(chan struct{}),
	}
	for i, n := range names {
		w.index[n] = i
	}
	return w
}

// start lists the namespace and opens the watch from the list's
// resourceVersion; events are consumed by run.
func (w *watcher) start(ctx context.Context) (watch.Interface, error) {
	list, err := w.c.CoreV1().Pods(w.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	if len(list.Items) != 0 {
		return nil, fmt.Errorf("namespace %s already has %d pods", w.ns, len(list.Items))
	}
	w.listRV = list.ResourceVersion
	return w.open(ctx, w.listRV)
}

func (w *watcher) open(ctx context.Context, rv string) (watch.Interface, error) {
	wi, err := w.c.CoreV1().Pods(w.ns).Watch(ctx, metav1.ListOptions{ResourceVersion: rv})
	if err != nil {
		return nil, fmt.Errorf("watch pods from %s: %w", rv, err)
	}
	return wi, nil
}

// run consumes events until every successful create's ADDED arrived or
// ctx ends. A watch that ends is resumed from the last resourceVersion
// seen; one that cannot be (410 Gone) ends the run.
func (w *watcher) run(ctx context.Context, wi watch.Interface) {
	defer close(w.done)
	defer func() { wi.Stop() }()
	var (
		rv      = w.listRV
		want    []bool
		missing = -1 // unknown until want arrives
	)
	count := func() int {
		n := 0
		for i, ok := range want {
			if ok && w.arrived[i].IsZero() {
				n++
			}
		}
		return n
	}
	expect := w.expect
	for missing != 0 {
		select {
		case <-ctx.Done():
			w.errs = append(w.errs, "stopped waiting: "+ctx.Err().Error())
			return
		case want = <-expect:
			expect = nil
			missing = count()
		case ev, ok := <-wi.ResultChan():
			now := time.Now()
			if !ok {
				if ctx.Err() != nil {
					continue
				}
				w.restarts++
				next, err := w.open(ctx, rv)
				if err != nil {
					w.errs = append(w.errs, "resume: "+err.Error())
					return
				}
				wi = next
				continue
			}
			switch ev.Type {
			case watch.Added:
				pod, ok := ev.Object.(*corev1.Pod)
				if !ok {
					w.unexpected++
					continue
				}
				rv = pod.ResourceVersion
				i, ok := w.index[pod.Name]
				switch {
				case !ok:
					w.unexpected++
				case !w.arrived[i].IsZero():
					w.duplicates++
				default:
					w.arrived[i] = now
					w.added++
					if want != nil && want[i] {
						missing--
					}
				}
			case watch.Bookmark:
				if m, err := metaOf(ev.Object); err == nil {
					rv = m.GetResourceVersion()
				}
			case watch.Error:
				err := apierrors.FromObject(ev.Object)
				w.errs = append(w.errs, "watch error event: "+err.Error())
				if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
					return
				}
			default:
				w.unexpected++
				if m, err := metaOf(ev.Object); err == nil {
					rv = m.GetResourceVersion()
				}
			}
		}
	}
}

func metaOf(obj any) (metav1.Object, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%T has no metadata", obj)
	}
	return m, nil
}
