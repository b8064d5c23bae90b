package endpoints

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/kemudi/kemudi/internal/controller"
)

const (
	// Name is the controller's name in --controllers.
	Name = "endpoints"
	// ManagedByLabel and managedBy mark the Endpoints this controller
	// writes, as upstream.
	ManagedByLabel = "endpoints.kubernetes.io/managed-by"
	managedBy      = "endpoint-controller"
	// leaderAnnotation marks Endpoints used as old-style leader election
	// locks, which are never garbage.
	leaderAnnotation = "control-plane.alpha.kubernetes.io/leader"
)

// Controller keeps Endpoints in step with services and their pods.
type Controller struct {
	client    kubernetes.Interface
	services  corelisters.ServiceLister
	pods      corelisters.PodLister
	endpoints corelisters.EndpointsLister
	recorder  record.EventRecorder
	log       *slog.Logger
	loop      *controller.Loop

	// stale holds, per service, the resourceVersion of the Endpoints this
	// controller last replaced: seeing it again in the cache means the
	// cache is behind (upstream's staleEndpointsTracker).
	mu    sync.Mutex
	stale map[string]string
}

// New builds the endpoints controller.
func New(c *controller.Context) (*Controller, error) {
	svcInf := c.Informers.Core().V1().Services()
	podInf := c.Informers.Core().V1().Pods()
	epInf := c.Informers.Core().V1().Endpoints()
	e := &Controller{
		client:    c.Client,
		services:  svcInf.Lister(),
		pods:      podInf.Lister(),
		endpoints: epInf.Lister(),
		recorder:  c.Recorder("endpoint-controller"),
		log:       c.Logger(Name),
		stale:     map[string]string{},
	}
	e.loop = c.NewLoop(Name, e.sync, e.log)
	if _, err := svcInf.Informer().AddEventHandler(e.loop.Handlers()); err != nil {
		return nil, err
	}
	if _, err := podInf.Informer().AddEventHandler(PodHandlers(svcInf.Lister(), e.loop.Queue.Add)); err != nil {
		return nil, err
	}
	if _, err := epInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		// Someone else's change to a managed object, or its deletion, is
		// undone by syncing the service again.
		UpdateFunc: func(_, obj interface{}) {
			if ep, ok := obj.(*corev1.Endpoints); ok && ep.Labels[ManagedByLabel] == managedBy {
				e.loop.Enqueue(obj)
			}
		},
		DeleteFunc: e.loop.Enqueue,
	}); err != nil {
		return nil, err
	}
	return e, nil
}

// Run syncs until ctx ends; it first queues leftover Endpoints whose
// service is gone.
func (e *Controller) Run(ctx context.Context) error {
	eps, err := e.endpoints.List(labels.Everything())
	if err != nil {
		return err
	}
	for _, ep := range eps {
		if _, leader := ep.Annotations[leaderAnnotation]; leader {
			continue
		}
		if _, err := e.services.Services(ep.Namespace).Get(ep.Name); apierrors.IsNotFound(err) {
			e.loop.Enqueue(ep)
		}
	}
	e.loop.Run(ctx, 8)
	return nil
}

func (e *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return controller.Terminal(err)
	}
	svc, err := e.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		e.mu.Lock()
		delete(e.stale, key)
		e.mu.Unlock()
		err := e.client.CoreV1().Endpoints(ns).Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		return nil
	}
	if err != nil {
		return err
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName || svc.Spec.Selector == nil {
		return nil
	}
	pods, err := e.pods.Pods(ns).List(labels.Set(svc.Spec.Selector).AsSelectorPreValidated())
	if err != nil {
		return err
	}
	subsets := Subsets(svc, pods)

	current, err := e.endpoints.Endpoints(ns).Get(name)
	create := apierrors.IsNotFound(err)
	if err != nil && !create {
		return err
	}
	if create {
		current = &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	} else {
		e.mu.Lock()
		isStale := e.stale[key] == current.ResourceVersion
		e.mu.Unlock()
		if isStale {
			return fmt.Errorf("endpoints cache is behind: resourceVersion %s of %s already replaced", current.ResourceVersion, key)
		}
	}
	want := desiredEndpoints(svc, current, subsets)
	if !create && apiequality.Semantic.DeepEqual(want.Labels, current.Labels) &&
		apiequality.Semantic.DeepEqual(want.Annotations, current.Annotations) &&
		(apiequality.Semantic.DeepEqual(want.Subsets, current.Subsets) || apiequality.Semantic.DeepEqual(want.Subsets, Normalize(current.Subsets))) {
		return nil
	}
	if create {
		_, err = e.client.CoreV1().Endpoints(ns).Create(ctx, want, metav1.CreateOptions{})
	} else {
		var updated *corev1.Endpoints
		updated, err = e.client.CoreV1().Endpoints(ns).Update(ctx, want, metav1.UpdateOptions{})
		if err == nil && updated.ResourceVersion != current.ResourceVersion {
			e.mu.Lock()
			e.stale[key] = current.ResourceVersion
			e.mu.Unlock()
		}
	}
	if err != nil {
		if create && apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return nil
		}
		if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
			return err
		}
		if create {
			e.recorder.Eventf(want, corev1.EventTypeWarning, "FailedToCreateEndpoint", "Failed to create endpoint for service %s/%s: %v", ns, name, err)
		} else {
			e.recorder.Eventf(want, corev1.EventTypeWarning, "FailedToUpdateEndpoint", "Failed to update endpoint %s/%s: %v", ns, name, err)
		}
		return err
	}
	return nil
}

// desiredEndpoints is the Endpoints object a service should have: its
// subsets (truncated past MaxAddresses), the service's labels plus the
// headless and managed-by labels, and current's other metadata.
func desiredEndpoints(svc *corev1.Service, current *corev1.Endpoints, subsets []corev1.EndpointSubset) *corev1.Endpoints {
	ep := current.DeepCopy()
	ep.Subsets = subsets
	ep.Labels = map[string]string{}
	for k, v := range svc.Labels {
		ep.Labels[k] = v
	}
	if IsHeadless(svc) {
		ep.Labels[corev1.IsHeadlessService] = ""
	} else {
		delete(ep.Labels, corev1.IsHeadlessService)
	}
	ep.Labels[ManagedByLabel] = managedBy
	if ep.Annotations == nil {
		ep.Annotations = map[string]string{}
	}
	if Truncate(ep.Subsets) {
		ep.Annotations[corev1.EndpointsOverCapacity] = "truncated"
	} else {
		delete(ep.Annotations, corev1.EndpointsOverCapacity)
	}
	delete(ep.Annotations, corev1.EndpointsLastChangeTriggerTime)
	if len(ep.Annotations) == 0 {
		ep.Annotations = nil
	}
	return ep
}

// PodHandlers enqueue the services (by key) that select a pod, before and
// after a change, when the change matters to endpoints: its labels,
// readiness, addresses, node, hostname, deletion or phase.
func PodHandlers(services corelisters.ServiceLister, enqueue func(key string)) cache.ResourceEventHandlerFuncs {
	enqueuePod := func(pod *corev1.Pod) {
		svcs, err := services.Services(pod.Namespace).List(labels.Everything())
		if err != nil {
			return
		}
		for _, s := range svcs {
			if s.Spec.Selector == nil {
				continue
			}
			if labels.SelectorFromValidatedSet(s.Spec.Selector).Matches(labels.Set(pod.Labels)) {
				enqueue(s.Namespace + "/" + s.Name)
			}
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj interface{}) {
			if p, ok := obj.(*corev1.Pod); ok {
				enqueuePod(p)
			}
		},
		UpdateFunc: func(old, obj interface{}) {
			o, n := old.(*corev1.Pod), obj.(*corev1.Pod)
			if o.ResourceVersion == n.ResourceVersion {
				return
			}
			labelsChanged := !labels.Equals(o.Labels, n.Labels)
			if !labelsChanged && !PodChanged(o, n) {
				return
			}
			enqueuePod(n)
			if labelsChanged {
				enqueuePod(o)
			}
		},
		DeleteFunc: func(obj interface{}) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if p, ok := obj.(*corev1.Pod); ok {
				enqueuePod(p)
			}
		},
	}
}

// PodChanged reports a change of what makes a pod an endpoint.
func PodChanged(o, n *corev1.Pod) bool {
	if controller.IsPodReady(o) != controller.IsPodReady(n) || o.Status.PodIP != n.Status.PodIP || len(o.Status.PodIPs) != len(n.Status.PodIPs) ||
		o.Spec.NodeName != n.Spec.NodeName || o.Spec.Hostname != n.Spec.Hostname || o.Spec.Subdomain != n.Spec.Subdomain ||
		(o.DeletionTimestamp == nil) != (n.DeletionTimestamp == nil) || o.Status.Phase != n.Status.Phase {
		return true
	}
	for i := range o.Status.PodIPs {
		if o.Status.PodIPs[i].IP != n.Status.PodIPs[i].IP {
			return true
		}
	}
	return false
}
