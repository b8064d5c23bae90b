package dns

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	toolscache "k8s.io/client-go/tools/cache"
)

// watcher keeps the handler's snapshot current from Service and
// EndpointSlice informers: every change marks it dirty and one goroutine
// rebuilds, so a burst of changes costs one rebuild.
type watcher struct {
	cfg      SnapshotConfig
	services func() ([]*corev1.Service, error)
	slices   func() ([]*discoveryv1.EndpointSlice, error)
	dirty    chan struct{}
	publish  func(*Snapshot)
	// minInterval spaces rebuilds under constant churn.
	minInterval time.Duration
}

// startWatcher starts the informers, waits for their first sync, and
// publishes the first snapshot before returning.
func startWatcher(ctx context.Context, client kubernetes.Interface, cfg SnapshotConfig, publish func(*Snapshot)) (*watcher, error) {
	f := informers.NewSharedInformerFactory(client, 0)
	svcInf := f.Core().V1().Services()
	esInf := f.Discovery().V1().EndpointSlices()
	w := &watcher{
		cfg:         cfg,
		services:    func() ([]*corev1.Service, error) { return svcInf.Lister().List(labels.Everything()) },
		slices:      func() ([]*discoveryv1.EndpointSlice, error) { return esInf.Lister().List(labels.Everything()) },
		dirty:       make(chan struct{}, 1),
		publish:     publish,
		minInterval: 50 * time.Millisecond,
	}
	h := toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { w.mark() },
		UpdateFunc: func(any, any) { w.mark() },
		DeleteFunc: func(any) { w.mark() },
	}
	for _, inf := range []toolscache.SharedIndexInformer{svcInf.Informer(), esInf.Informer()} {
		if err := inf.SetTransform(trim); err != nil {
			return nil, fmt.Errorf("watch: %w", err)
		}
		if _, err := inf.AddEventHandler(h); err != nil {
			return nil, fmt.Errorf("watch: %w", err)
		}
	}
	f.Start(ctx.Done())
	for typ, ok := range f.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return nil, fmt.Errorf("sync %v informer: %w", typ, context.Cause(ctx))
		}
	}
	w.rebuild()
	go func() {
		<-ctx.Done()
		f.Shutdown()
	}()
	return w, nil
}

func (w *watcher) mark() {
	select {
	case w.dirty <- struct{}{}:
	default:
	}
}

// run rebuilds the snapshot on every change until ctx ends.
func (w *watcher) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.dirty:
		}
		w.rebuild()
		select {
		case <-ctx.Done():
			return
		case <-time.After(w.minInterval):
		}
	}
}

func (w *watcher) rebuild() {
	svcs, err := w.services()
	if err != nil {
		return // listers over an informer cache do not fail
	}
	eps, err := w.slices()
	if err != nil {
		return
	}
	w.cfg.Serial = uint32(time.Now().Unix())
	w.publish(BuildSnapshot(w.cfg, svcs, eps))
}
