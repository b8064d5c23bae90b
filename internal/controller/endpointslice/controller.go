package endpointslice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/kemudi/kemudi/internal/controller"
	"github.com/kemudi/kemudi/internal/controller/endpoints"
)

// Name is the controller's name in --controllers.
const Name = "endpointslice"

// Controller keeps EndpointSlices in step with services and their pods.
type Controller struct {
	client   kubernetes.Interface
	services corelisters.ServiceLister
	pods     corelisters.PodLister
	nodes    corelisters.NodeLister
	slices   discoverylisters.EndpointSliceLister
	recorder record.EventRecorder
	log      *slog.Logger
	loop     *controller.Loop
	tracker  *tracker
}

// New builds the endpointslice controller.
func New(c *controller.Context) (*Controller, error) {
	svcInf := c.Informers.Core().V1().Services()
	podInf := c.Informers.Core().V1().Pods()
	nodeInf := c.Informers.Core().V1().Nodes()
	sliceInf := c.Informers.Discovery().V1().EndpointSlices()
	e := &Controller{
		client:   c.Client,
		services: svcInf.Lister(),
		pods:     podInf.Lister(),
		nodes:    nodeInf.Lister(),
		slices:   sliceInf.Lister(),
		recorder: c.Recorder("endpoint-slice-controller"),
		log:      c.Logger(Name),
		tracker:  newTracker(),
	}
	e.loop = c.NewLoop(Name, e.sync, e.log)
	if _, err := svcInf.Informer().AddEventHandler(e.loop.Handlers()); err != nil {
		return nil, err
	}
	if _, err := podInf.Informer().AddEventHandler(endpoints.PodHandlers(svcInf.Lister(), e.loop.Queue.Add)); err != nil {
		return nil, err
	}
	if _, err := sliceInf.Informer().AddEventHandler(sliceHandlers(ManagedBy, e.tracker, e.loop.Queue.Add)); err != nil {
		return nil, err
	}
	return e, nil
}

// Run syncs until ctx ends.
func (e *Controller) Run(ctx context.Context) error {
	e.loop.Run(ctx, 8)
	return nil
}

// sliceHandlers queue (by key) the service of a slice managed by
// managedBy when someone other than that controller changed or deleted
// the slice (its tracker tells).
func sliceHandlers(managedBy string, t *tracker, enqueue func(key string)) cache.ResourceEventHandlerFuncs {
	changed := func(obj interface{}, deleted bool) {
		s, ok := controller.DeletedObject[*discoveryv1.EndpointSlice](obj)
		if !ok || s.Labels[discoveryv1.LabelManagedBy] != managedBy || s.Labels[discoveryv1.LabelServiceName] == "" {
			return
		}
		key := s.Namespace + "/" + s.Labels[discoveryv1.LabelServiceName]
		if t.observe(key, s, deleted) {
			enqueue(key)
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { changed(obj, false) },
		UpdateFunc: func(_, obj interface{}) { changed(obj, false) },
		DeleteFunc: func(obj interface{}) { changed(obj, true) },
	}
}

var errNodeNotFound = errors.New("node not found")

// errStaleCache asks for a retry: the cache misses this controller's
// own writes.
func errStaleCache(key string) error {
	return fmt.Errorf("endpoint slice cache of %s is behind this controller's writes", key)
}

func (e *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return controller.Terminal(err)
	}
	existing, err := e.slices.EndpointSlices(ns).List(labels.SelectorFromSet(labels.Set{
		discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: ManagedBy,
	}))
	if err != nil {
		return err
	}
	if e.tracker.stale(key, existing) {
		return errStaleCache(key)
	}
	svc, err := e.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		// The garbage collector deletes them too (they are owned); not
		// waiting for it spares clients a window of stale endpoints.
		err := e.write(ctx, key, nil, plan{delete: existing})
		if err == nil {
			e.tracker.forget(key)
		}
		return err
	}
	if err != nil {
		return err
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName || svc.Spec.Selector == nil {
		return e.write(ctx, key, svc, plan{delete: existing})
	}
	pods, err := e.pods.Pods(ns).List(labels.Set(svc.Spec.Selector).AsSelectorPreValidated())
	if err != nil {
		return err
	}
	zoneOf := func(node string) (string, bool) {
		n, err := e.nodes.Get(node)
		if err != nil {
			return "", false
		}
		return n.Labels[corev1.LabelTopologyZone], true
	}

	var total plan
	types := addressTypes(svc)
	var mine []*discoveryv1.EndpointSlice
	for _, s := range existing {
		if owned(s, svc) && wantedType(s.AddressType, types) {
			mine = append(mine, s)
		} else {
			total.delete = append(total.delete, s)
		}
	}
	var missing []string
	for _, t := range types {
		groups, miss := desired(svc, pods, t, zoneOf)
		missing = append(missing, miss...)
		p := reconcile(serviceMeta(svc), t, groups, mine, MaxEndpointsPerSlice)
		total.create = append(total.create, p.create...)
		total.update = append(total.update, p.update...)
		total.delete = append(total.delete, p.delete...)
	}
	if err := e.write(ctx, key, svc, total); err != nil {
		return err
	}
	if len(missing) > 0 {
		// Upstream leaves such pods out and tries again later.
		return fmt.Errorf("skipping pods %v of service %s: %w", missing, key, errNodeNotFound)
	}
	return nil
}

func owned(s *discoveryv1.EndpointSlice, svc *corev1.Service) bool {
	for _, o := range s.OwnerReferences {
		if o.Controller != nil && *o.Controller {
			return o.UID == svc.UID && o.Kind == "Service"
		}
	}
	return false
}

func wantedType(t discoveryv1.AddressType, types []discoveryv1.AddressType) bool {
	for _, x := range types {
		if x == t {
			return true
		}
	}
	return false
}

// write carries out a plan: creates and updates first, so that endpoints
// moving between slices are never missing, then deletes.
func (e *Controller) write(ctx context.Context, key string, svc *corev1.Service, p plan) error {
	client := e.client.DiscoveryV1()
	var errs []error
	for _, s := range p.create {
		if svc != nil && svc.DeletionTimestamp != nil {
			break // the owner is going: no new slices
		}
		created, err := client.EndpointSlices(s.Namespace).Create(ctx, s, metav1.CreateOptions{})
		if err != nil {
			if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				return nil
			}
			errs = append(errs, err)
			continue
		}
		e.tracker.wrote(key, created)
	}
	for _, s := range p.update {
		updated, err := client.EndpointSlices(s.Namespace).Update(ctx, s, metav1.UpdateOptions{})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		e.tracker.wrote(key, updated)
	}
	for _, s := range p.delete {
		uid := s.UID
		err := client.EndpointSlices(s.Namespace).Delete(ctx, s.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
			continue
		}
		e.tracker.deleted(key, s.UID)
	}
	if err := errors.Join(errs...); err != nil {
		if svc != nil && !onlyConflicts(errs) {
			e.recorder.Eventf(svc, corev1.EventTypeWarning, "FailedToUpdateEndpointSlices", "Error updating Endpoint Slices for Service %s: %v", key, err)
		}
		return err
	}
	return nil
}

func onlyConflicts(errs []error) bool {
	for _, err := range errs {
		if !apierrors.IsConflict(err) && !apierrors.IsAlreadyExists(err) {
			return false
		}
	}
	return true
}

// tracker remembers the generation of every slice this controller wrote
// (and the slices it deleted), per service: a cache that does not show
// them yet is behind, and syncing on it would duplicate or undo work
// (upstream's endpointSliceTracker).
type tracker struct {
	mu sync.Mutex
	// generations by service key and slice UID; deletedGeneration marks
	// a slice this controller deleted.
	gens map[string]map[types.UID]int64
}

const deletedGeneration = -1

func newTracker() *tracker { return &tracker{gens: map[string]map[types.UID]int64{}} }

func (t *tracker) wrote(key string, s *discoveryv1.EndpointSlice) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.gens[key] == nil {
		t.gens[key] = map[types.UID]int64{}
	}
	t.gens[key][s.UID] = s.Generation
}

func (t *tracker) deleted(key string, uid types.UID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.gens[key] == nil {
		t.gens[key] = map[types.UID]int64{}
	}
	t.gens[key][uid] = deletedGeneration
}

func (t *tracker) forget(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.gens, key)
}

// stale reports whether the cached slices miss one of this controller's
// writes.
func (t *tracker) stale(key string, cached []*discoveryv1.EndpointSlice) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	gens := t.gens[key]
	if len(gens) == 0 {
		return false
	}
	seen := make(map[types.UID]int64, len(cached))
	for _, s := range cached {
		seen[s.UID] = s.Generation
	}
	for uid, g := range gens {
		got, ok := seen[uid]
		switch {
		case g == deletedGeneration && ok:
			return true
		case g != deletedGeneration && (!ok || got < g):
			return true
		}
	}
	return false
}

// observe takes an informer event of a managed slice and reports whether
// the service needs a sync: not when the event is this controller's own
// write (or older), yes when someone else changed or deleted the slice.
func (t *tracker) observe(key string, s *discoveryv1.EndpointSlice, deleted bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	gens := t.gens[key]
	g, tracked := gens[s.UID]
	if deleted {
		if tracked {
			delete(gens, s.UID)
		}
		return !tracked || g != deletedGeneration
	}
	if tracked && (g == deletedGeneration || s.Generation <= g) {
		return false
	}
	if tracked {
		gens[s.UID] = s.Generation
	}
	return true
}
