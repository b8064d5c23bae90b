package namespace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"github.com/kemudi/kemudi/internal/controller"
)

const (
	// workers deleting namespaces concurrently (upstream's
	// --concurrent-namespace-syncs default).
	workers = 10
	// deletionDelay lets other controllers see a namespace go
	// Terminating before its content is deleted (upstream's 5 s).
	deletionDelay = 5 * time.Second
	// finalizerToken is the spec finalizer this controller owns.
	finalizerToken = corev1.FinalizerKubernetes
	// finalizerEstimate is how long content held by finalizers is given
	// before the next look.
	finalizerEstimate = 15 * time.Second
)

var podsGVR = schema.GroupVersionResource{Version: "v1", Resource: "pods"}

// Controller empties and finalizes namespaces being deleted.
type Controller struct {
	client     kubernetes.Interface
	metadata   metadata.Interface
	discover   func() ([]*metav1.APIResourceList, error)
	namespaces corelisters.NamespaceLister
	loop       *controller.Loop
	clock      clock.PassiveClock
	log        *slog.Logger
}

// New builds the namespace controller; it needs the context's client
// config (for its metadata client).
func New(c *controller.Context) (*Controller, error) {
	if c.Config == nil {
		return nil, errors.New("namespace controller: no client config")
	}
	md, err := metadata.NewForConfig(c.Config)
	if err != nil {
		return nil, fmt.Errorf("namespace controller: metadata client: %w", err)
	}
	inf := c.Informers.Core().V1().Namespaces()
	nc := &Controller{
		client:     c.Client,
		metadata:   md,
		discover:   c.Client.Discovery().ServerPreferredNamespacedResources,
		namespaces: inf.Lister(),
		clock:      c.Clock,
		log:        c.Logger("namespace"),
	}
	// Upstream's limits: retries back off to a minute at most.
	nc.loop = c.NewLoopWithLimiter("namespace", nc.sync, nc.log, workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[string](5*time.Millisecond, 60*time.Second),
		&workqueue.TypedBucketRateLimiter[string]{Limiter: rate.NewLimiter(rate.Limit(10), 100)},
	))
	enqueue := func(obj interface{}) {
		ns, ok := obj.(*corev1.Namespace)
		if ok && ns.DeletionTimestamp != nil {
			nc.loop.Queue.AddAfter(ns.Name, deletionDelay)
		}
	}
	if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, cur interface{}) { enqueue(cur) },
	}); err != nil {
		return nil, err
	}
	return nc, nil
}

// Run deletes namespaces until ctx ends.
func (nc *Controller) Run(ctx context.Context) error {
	nc.log.Info("starting")
	nc.loop.Run(ctx, workers)
	return nil
}

// sync empties one namespace being deleted and finalizes it.
func (nc *Controller) sync(ctx context.Context, name string) error {
	if _, err := nc.namespaces.Get(name); apierrors.IsNotFound(err) {
		return nil
	}
	ns, err := nc.client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ns.DeletionTimestamp == nil {
		return nil
	}
	if ns.Status.Phase != corev1.NamespaceTerminating {
		update := ns.DeepCopy()
		update.Status.Phase = corev1.NamespaceTerminating
		if ns, err = nc.client.CoreV1().Namespaces().UpdateStatus(ctx, update, metav1.UpdateOptions{}); err != nil {
			return ignoreNotFound(err)
		}
	}
	if !hasFinalizer(ns, finalizerToken) {
		return nil
	}
	estimate, err := nc.deleteContent(ctx, ns)
	if err != nil {
		return err
	}
	if estimate > 0 {
		nc.log.Debug("content remains", "namespace", name, "estimate", estimate)
		return &controller.Requeue{After: estimate/2 + time.Second}
	}
	return ignoreNotFound(nc.finalize(ctx, ns))
}

// finalize removes this controller's finalizer through the finalize
// subresource, retrying on conflicts with a fresh read.
func (nc *Controller) finalize(ctx context.Context, ns *corev1.Namespace) error {
	for {
		update := ns.DeepCopy()
		update.Spec.Finalizers = nil
		for _, f := range ns.Spec.Finalizers {
			if f != finalizerToken {
				update.Spec.Finalizers = append(update.Spec.Finalizers, f)
			}
		}
		_, err := nc.client.CoreV1().Namespaces().Finalize(ctx, update, metav1.UpdateOptions{})
		if !apierrors.IsConflict(err) {
			return err
		}
		fresh, gerr := nc.client.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
		if gerr != nil {
			return gerr
		}
		if fresh.UID != ns.UID {
			return fmt.Errorf("namespace %s was replaced while being finalized", ns.Name)
		}
		ns = fresh
	}
}

// deleteContent deletes everything in the namespace: pods first (and
// nothing else while pods remain, so that what they use outlives them),
// then every other namespaced resource. It returns how long the content
// that remains should take to go; it records conditions on the way.
func (nc *Controller) deleteContent(ctx context.Context, ns *corev1.Namespace) (time.Duration, error) {
	r := newReport()
	lists, err := nc.discover()
	if err != nil {
		r.discoveryErr = err
	}
	deletable := discovery.FilteredBy(discovery.SupportsAllVerbs{Verbs: []string{"delete"}}, lists)
	gvrs, err := discovery.GroupVersionResources(deletable)
	if err != nil {
		r.parseErr = err
	}
	verbs := map[schema.GroupVersionResource]map[string]bool{}
	for _, l := range deletable {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, res := range l.APIResources {
			v := map[string]bool{}
			for _, verb := range res.Verbs {
				v[verb] = true
			}
			verbs[gv.WithResource(res.Name)] = v
		}
	}

	var estimate time.Duration
	var errs []error
	step := func(gvr schema.GroupVersionResource) {
		left, err := nc.deleteResource(ctx, gvr, ns, verbs[gvr])
		if err != nil {
			errs = append(errs, err)
			r.deleteErrs = append(r.deleteErrs, err)
		}
		estimate = max(estimate, left.estimate)
		if left.count > 0 {
			r.remaining[gvr] = left.count
			for f, n := range left.finalizers {
				r.finalizers[f] += n
			}
		}
	}
	if _, ok := gvrs[podsGVR]; ok {
		step(podsGVR)
		if r.remaining[podsGVR] > 0 {
			nc.writeConditions(ctx, ns, r)
			return estimate, errors.Join(errs...)
		}
	}
	for gvr := range gvrs {
		if gvr != podsGVR {
			step(gvr)
		}
	}
	nc.writeConditions(ctx, ns, r)
	if r.discoveryErr != nil {
		errs = append(errs, r.discoveryErr)
	}
	return estimate, errors.Join(errs...)
}

func (nc *Controller) writeConditions(ctx context.Context, ns *corev1.Namespace, r *report) {
	update := ns.DeepCopy()
	now := nc.clock.Now()
	if !updateConditions(&update.Status, r.conditions(now), now) {
		return
	}
	if _, err := nc.client.CoreV1().Namespaces().UpdateStatus(ctx, update, metav1.UpdateOptions{}); err != nil {
		nc.log.Debug("cannot update namespace conditions", "namespace", ns.Name, "err", err)
	}
}

// remaining is what is left of one resource after a deletion pass.
type remaining struct {
	count      int
	finalizers map[string]int
	estimate   time.Duration
}

// deleteResource deletes all of one resource in the namespace
// (deletecollection when served, else each item) and reports what is
// left. Remaining items without finalizers and without a grace period to
// wait out are an error (the next pass retries).
func (nc *Controller) deleteResource(ctx context.Context, gvr schema.GroupVersionResource, ns *corev1.Namespace, verbs map[string]bool) (remaining, error) {
	var left remaining
	if gvr == podsGVR {
		est, err := nc.podsGrace(ctx, ns)
		if err != nil {
			return left, err
		}
		left.estimate = est
	}
	client := nc.metadata.Resource(gvr).Namespace(ns.Name)
	background := metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{PropagationPolicy: &background}
	deleted := false
	if verbs["deletecollection"] {
		err := client.DeleteCollection(ctx, opts, metav1.ListOptions{})
		switch {
		case err == nil:
			deleted = true
		case apierrors.IsMethodNotSupported(err) || apierrors.IsNotFound(err):
		default:
			return left, fmt.Errorf("delete %s in %s: %w", gvr.Resource, ns.Name, err)
		}
	}
	if !verbs["list"] {
		return left, nil
	}
	if !deleted {
		items, err := client.List(ctx, metav1.ListOptions{})
		if err != nil {
			if apierrors.IsMethodNotSupported(err) || apierrors.IsNotFound(err) {
				return left, nil
			}
			return left, fmt.Errorf("list %s in %s: %w", gvr.Resource, ns.Name, err)
		}
		for _, it := range items.Items {
			if err := client.Delete(ctx, it.Name, opts); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsMethodNotSupported(err) {
				return left, fmt.Errorf("delete %s %s/%s: %w", gvr.Resource, ns.Name, it.Name, err)
			}
		}
	}
	items, err := client.List(ctx, metav1.ListOptions{})
	if err != nil {
		if apierrors.IsMethodNotSupported(err) || apierrors.IsNotFound(err) {
			return left, nil
		}
		return left, fmt.Errorf("list %s in %s: %w", gvr.Resource, ns.Name, err)
	}
	if len(items.Items) == 0 {
		return remaining{}, nil
	}
	left.count = len(items.Items)
	left.finalizers = map[string]int{}
	for _, it := range items.Items {
		for _, f := range it.Finalizers {
			left.finalizers[f]++
		}
	}
	switch {
	case left.estimate > 0:
		return left, nil
	case len(left.finalizers) > 0:
		left.estimate = finalizerEstimate
		return left, nil
	}
	return left, fmt.Errorf("unexpected items still remain in namespace: %s for gvr: %v", ns.Name, gvr)
}

// podsGrace estimates how long the namespace's pods may take to stop:
// the longest termination grace period of the pods still running,
// counted from when the namespace began to be deleted.
func (nc *Controller) podsGrace(ctx context.Context, ns *corev1.Namespace) (time.Duration, error) {
	pods, err := nc.client.CoreV1().Pods(ns.Name).List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, err
	}
	var longest int64
	for _, p := range pods.Items {
		if controller.IsPodTerminal(&p) {
			continue
		}
		if g := p.Spec.TerminationGracePeriodSeconds; g != nil && *g > longest {
			longest = *g
		}
	}
	grace := time.Duration(longest) * time.Second
	if nc.clock.Since(ns.DeletionTimestamp.Time) >= grace {
		return 0, nil
	}
	return grace, nil
}

func hasFinalizer(ns *corev1.Namespace, f corev1.FinalizerName) bool {
	for _, x := range ns.Spec.Finalizers {
		if x == f {
			return true
		}
	}
	return false
}

func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
