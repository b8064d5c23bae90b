package dns

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	toolscache "k8s.io/client-go/tools/cache"
)

// watcher keeps the handler's snapshot current from Services and
// EndpointSlices: reflectors fill compact stores, every change marks the
// snapshot dirty and one goroutine rebuilds, so a burst of changes costs
// one rebuild.
type watcher struct {
	cfg      SnapshotConfig
	services *compactStore[*service]
	slices   *compactStore[*endpointSlice]
	dirty    chan struct{}
	publish  func(*Snapshot)
	// minInterval spaces rebuilds under constant churn.
	minInterval time.Duration
}

// startWatcher starts the reflectors, waits for their first lists, and
// publishes the first snapshot before returning.
func startWatcher(ctx context.Context, client kubernetes.Interface, cfg SnapshotConfig, publish func(*Snapshot)) (*watcher, error) {
	w := &watcher{
		cfg:         cfg,
		dirty:       make(chan struct{}, 1),
		publish:     publish,
		minInterval: 50 * time.Millisecond,
	}
	w.services = newCompactStore(func(s *service) string { return s.key }, w.mark)
	w.slices = newCompactStore(func(e *endpointSlice) string { return e.namespace + "/" + e.name }, w.mark)
	svcs := client.CoreV1().Services(metav1.NamespaceAll)
	eps := client.DiscoveryV1().EndpointSlices(metav1.NamespaceAll)
	reflectors := []*toolscache.Reflector{
		toolscache.NewReflectorWithOptions(listWatch(client, svcs.List, svcs.Watch), &corev1.Service{}, w.services,
			toolscache.ReflectorOptions{Name: "dns services"}),
		toolscache.NewReflectorWithOptions(listWatch(client, eps.List, eps.Watch), &discoveryv1.EndpointSlice{}, w.slices,
			toolscache.ReflectorOptions{Name: "dns endpointslices"}),
	}
	for _, r := range reflectors {
		go r.RunWithContext(ctx)
	}
	for typ, synced := range map[string]chan struct{}{"services": w.services.synced, "endpointslices": w.slices.synced} {
		select {
		case <-synced:
		case <-ctx.Done():
			return nil, fmt.Errorf("list %s: %w", typ, context.Cause(ctx))
		}
	}
	w.rebuild()
	return w, nil
}

// listWatch lists and watches one typed resource of client, with the
// streamed initial list (WatchList) where the server serves it.
func listWatch[L runtime.Object](client kubernetes.Interface,
	list func(context.Context, metav1.ListOptions) (L, error),
	watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error)) toolscache.ListerWatcher {
	return toolscache.ToListWatcherWithWatchListSemantics(&toolscache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return list(ctx, o)
		},
		WatchFuncWithContext: watchFn,
	}, client)
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
	w.cfg.Serial = uint32(time.Now().Unix())
	var s *Snapshot
	w.services.view(func(svcs map[string]*service) {
		w.slices.view(func(eps map[string]*endpointSlice) { s = buildSnapshot(w.cfg, svcs, eps) })
	})
	w.publish(s)
}
