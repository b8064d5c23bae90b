package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	cloudprovider "k8s.io/cloud-provider"
	cloudapi "k8s.io/cloud-provider/api"

	"github.com/kemudi/kemudi/internal/controller"
)

const (
	// Name is the controller's name (upstream's, in
	// cloud-controller-manager --controllers).
	Name = "service-lb-controller"
	// component is the source of its events, as upstream.
	component = "service-controller"
	// Upstream's retry delays of a failed sync.
	minRetryDelay = 5 * time.Second
	maxRetryDelay = 300 * time.Second
	workers       = 8
)

// Controller keeps load balancers in step with LoadBalancer services.
type Controller struct {
	balancer    cloudprovider.LoadBalancer
	clusterName string
	client      kubernetes.Interface
	services    corelisters.ServiceLister
	nodes       corelisters.NodeLister
	recorder    record.EventRecorder
	log         *slog.Logger
	loop        *controller.Loop
	nodesMoved  chan struct{}

	mu sync.Mutex
	// seen is the last version of each service synced, to delete the
	// load balancer of a service that went without the finalizer path
	// (deleted and re-created under the same name).
	seen map[string]*corev1.Service
	// fingerprint is the node set the load balancers were last updated
	// for (nodeFingerprint).
	fingerprint string
}

// New builds the service controller on the provider's load balancers;
// it fails when the provider has none.
func New(c *controller.Context, cloud cloudprovider.Interface, clusterName string) (*Controller, error) {
	balancer, ok := cloud.LoadBalancer()
	if !ok {
		return nil, fmt.Errorf("cloud provider %s has no load balancers", cloud.ProviderName())
	}
	svcInf := c.Informers.Core().V1().Services()
	nodeInf := c.Informers.Core().V1().Nodes()
	s := &Controller{
		balancer:    balancer,
		clusterName: clusterName,
		client:      c.Client,
		services:    svcInf.Lister(),
		nodes:       nodeInf.Lister(),
		recorder:    c.Recorder(component),
		log:         c.Logger(Name),
		nodesMoved:  make(chan struct{}, 1),
		seen:        map[string]*corev1.Service{},
	}
	s.loop = &controller.Loop{
		Queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](minRetryDelay, maxRetryDelay),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: Name, MetricsProvider: c.Metrics}),
		Sync:      s.sync,
		Log:       s.log,
		WarnAfter: 1,
	}
	if _, err := svcInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj interface{}) {
			if svc, ok := obj.(*corev1.Service); ok && (wantsLoadBalancer(svc) || needsCleanup(svc)) {
				s.loop.Enqueue(svc)
			}
		},
		UpdateFunc: func(oldObj, curObj interface{}) {
			old, ok1 := oldObj.(*corev1.Service)
			cur, ok2 := curObj.(*corev1.Service)
			if !ok1 || !ok2 || !needsSync(old, cur) {
				return
			}
			for _, ch := range changes(old, cur) {
				s.recorder.Event(cur, corev1.EventTypeNormal, ch.reason, ch.message)
			}
			s.loop.Enqueue(cur)
		},
		DeleteFunc: s.loop.Enqueue,
	}); err != nil {
		return nil, err
	}
	if _, err := nodeInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(interface{}) { s.nodesChanged() },
		UpdateFunc: func(o, n interface{}) {
			// A heartbeat changes nothing load balancers depend on.
			old, ok1 := o.(*corev1.Node)
			cur, ok2 := n.(*corev1.Node)
			if !ok1 || !ok2 || nodeFingerprint([]*corev1.Node{old}) != nodeFingerprint([]*corev1.Node{cur}) {
				s.nodesChanged()
			}
		},
		DeleteFunc: func(interface{}) { s.nodesChanged() },
	}); err != nil {
		return nil, err
	}
	return s, nil
}

// nodesChanged wakes the node sync; it coalesces bursts.
func (s *Controller) nodesChanged() {
	select {
	case s.nodesMoved <- struct{}{}:
	default:
	}
}

// Run syncs services until ctx ends.
func (s *Controller) Run(ctx context.Context) error {
	nodes, err := s.nodes.List(labels.Everything())
	if err != nil {
		return err
	}
	// Every service is synced with the nodes of now at start; only later
	// changes need updating.
	s.mu.Lock()
	s.fingerprint = nodeFingerprint(nodes)
	s.mu.Unlock()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.nodesMoved:
				s.syncNodes(ctx)
			}
		}
	}()
	s.loop.Run(ctx, workers)
	return nil
}

func (s *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return controller.Terminal(err)
	}
	svc, err := s.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return s.gone(ctx, key)
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	prev := s.seen[key]
	s.seen[key] = svc
	s.mu.Unlock()
	if prev != nil && prev.UID != svc.UID && !hasFinalizer(prev) {
		// Deleted and re-created in between: the old one's load balancer
		// goes first.
		if err := s.deleteLoadBalancer(ctx, prev); err != nil {
			return err
		}
	}
	if err := s.syncLoadBalancer(ctx, svc); err != nil {
		s.recorder.Eventf(svc, corev1.EventTypeWarning, "SyncLoadBalancerFailed", "Error syncing load balancer: %v", err)
		var retry *cloudapi.RetryError
		if errors.As(err, &retry) {
			return controller.RequeueAfter(retry.RetryAfter())
		}
		return err
	}
	return nil
}

// gone handles a service no longer in the cache. One that had the
// finalizer had its load balancer deleted before it went; one that
// had none (it went before its first sync ended) has it deleted now.
func (s *Controller) gone(ctx context.Context, key string) error {
	s.mu.Lock()
	prev := s.seen[key]
	delete(s.seen, key)
	s.mu.Unlock()
	if prev == nil || hasFinalizer(prev) || !wantsLoadBalancer(prev) {
		return nil
	}
	return s.deleteLoadBalancer(ctx, prev)
}

// syncLoadBalancer makes the service's load balancer what the service
// asks: made or updated, or deleted with its finalizer removed.
func (s *Controller) syncLoadBalancer(ctx context.Context, svc *corev1.Service) error {
	if !wantsLoadBalancer(svc) || needsCleanup(svc) {
		if !hasFinalizer(svc) && len(svc.Status.LoadBalancer.Ingress) == 0 {
			return nil
		}
		if err := s.deleteLoadBalancer(ctx, svc); err != nil {
			return err
		}
		if err := s.removeFinalizer(ctx, svc); err != nil {
			return fmt.Errorf("failed to remove load balancer cleanup finalizer: %w", err)
		}
		return s.patchStatus(ctx, svc, &corev1.LoadBalancerStatus{})
	}
	s.recorder.Event(svc, corev1.EventTypeNormal, "EnsuringLoadBalancer", "Ensuring load balancer")
	if err := s.addFinalizer(ctx, svc); err != nil {
		return fmt.Errorf("failed to add load balancer cleanup finalizer: %w", err)
	}
	nodes := s.lbNodes()
	if len(nodes) == 0 {
		s.recorder.Event(svc, corev1.EventTypeWarning, "UnAvailableLoadBalancer", "There are no available nodes for LoadBalancer")
	}
	status, err := s.balancer.EnsureLoadBalancer(ctx, s.clusterName, svc, nodes)
	if errors.Is(err, cloudprovider.ImplementedElsewhere) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("failed to ensure load balancer: %w", err)
	}
	if status == nil {
		return errors.New("service status returned by EnsureLoadBalancer is nil")
	}
	s.recorder.Event(svc, corev1.EventTypeNormal, "EnsuredLoadBalancer", "Ensured load balancer")
	return s.patchStatus(ctx, svc, status)
}

// deleteLoadBalancer deletes the service's load balancer if the
// provider has one, and then lets services that waited for an address
// or a port try again.
func (s *Controller) deleteLoadBalancer(ctx context.Context, svc *corev1.Service) error {
	_, exists, err := s.balancer.GetLoadBalancer(ctx, s.clusterName, svc)
	if err != nil {
		return fmt.Errorf("failed to check if load balancer exists before cleanup: %w", err)
	}
	if exists {
		s.recorder.Event(svc, corev1.EventTypeNormal, "DeletingLoadBalancer", "Deleting load balancer")
		if err := s.balancer.EnsureLoadBalancerDeleted(ctx, s.clusterName, svc); err != nil && !errors.Is(err, cloudprovider.ImplementedElsewhere) {
			return fmt.Errorf("failed to delete load balancer: %w", err)
		}
		s.recorder.Event(svc, corev1.EventTypeNormal, "DeletedLoadBalancer", "Deleted load balancer")
		s.retryWaiting(svc)
	}
	return nil
}

// retryWaiting queues again every service that wants a load balancer
// and has no address yet, but for freed.
func (s *Controller) retryWaiting(freed *corev1.Service) {
	svcs, err := s.services.List(labels.Everything())
	if err != nil {
		return
	}
	for _, svc := range svcs {
		if svc.UID != freed.UID && wantsLoadBalancer(svc) && svc.DeletionTimestamp == nil && len(svc.Status.LoadBalancer.Ingress) == 0 {
			key, _ := cache.MetaNamespaceKeyFunc(svc)
			s.loop.Queue.Forget(key)
			s.loop.Queue.Add(key)
		}
	}
}

// lbNodes are the nodes load balancers send traffic to.
func (s *Controller) lbNodes() []*corev1.Node {
	all, err := s.nodes.List(labels.Everything())
	if err != nil {
		return nil
	}
	var nodes []*corev1.Node
	for _, n := range all {
		if includedNode(n) {
			nodes = append(nodes, n)
		}
	}
	return nodes
}
