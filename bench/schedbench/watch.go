package schedbench

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// watcher follows the benchmark's pods from before their creation and
// notes when each is first seen bound, and any pod whose node changes.
type watcher struct {
	c     kubernetes.Interface
	ns    string
	index map[string]int

	// Written by run only; read after done is closed.
	bound      []time.Time
	node       []string
	rebound    int
	unexpected int
	restarts   int
	errs       []string
	rv         string

	expect chan []bool
	done   chan struct{}
}

func newWatcher(c kubernetes.Interface, ns string, names []string) *watcher {
	w := &watcher{
		c: c, ns: ns, index: make(map[string]int, len(names)),
		bound: make([]time.Time, len(names)), node: make([]string, len(names)),
		expect: make(chan []bool, 1), done: make(chan struct{}),
	}
	for i, n := range names {
		w.index[n] = i
	}
	return w
}

func (w *watcher) start(ctx context.Context) (watch.Interface, error) {
	list, err := w.c.CoreV1().Pods(w.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	w.rv = list.ResourceVersion
	return w.open(ctx)
}

func (w *watcher) open(ctx context.Context) (watch.Interface, error) {
	return w.c.CoreV1().Pods(w.ns).Watch(ctx, metav1.ListOptions{ResourceVersion: w.rv, AllowWatchBookmarks: true})
}

// run consumes events until every pod expected is bound or ctx ends.
func (w *watcher) run(ctx context.Context, wi watch.Interface) {
	defer close(w.done)
	var expect []bool
	missing := -1
	for {
		if missing == 0 {
			wi.Stop()
			return
		}
		select {
		case <-ctx.Done():
			wi.Stop()
			return
		case ok := <-w.expect:
			expect = ok
			missing = 0
			for i, created := range ok {
				if created && w.bound[i].IsZero() {
					missing++
				}
			}
		case ev, open := <-wi.ResultChan():
			if !open {
				var err error
				if wi, err = w.open(ctx); err != nil {
					if ctx.Err() == nil {
						w.errs = append(w.errs, err.Error())
					}
					return
				}
				w.restarts++
				continue
			}
			now := time.Now()
			switch ev.Type {
			case watch.Added, watch.Modified:
			case watch.Bookmark:
				if m, ok := ev.Object.(metav1.Object); ok {
					w.rv = m.GetResourceVersion()
				}
				continue
			case watch.Deleted:
				continue
			default:
				w.errs = append(w.errs, fmt.Sprintf("watch event %s: %v", ev.Type, ev.Object))
				continue
			}
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				w.unexpected++
				continue
			}
			w.rv = p.ResourceVersion
			i, ours := w.index[p.Name]
			if !ours {
				continue
			}
			if p.Spec.NodeName == "" {
				continue
			}
			if w.node[i] != "" && w.node[i] != p.Spec.NodeName {
				w.rebound++
			}
			if w.bound[i].IsZero() {
				w.bound[i] = now
				w.node[i] = p.Spec.NodeName
				if expect != nil && expect[i] {
					missing--
				}
			}
		}
	}
}
