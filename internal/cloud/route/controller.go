package route

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	cloudprovider "k8s.io/cloud-provider"

	"github.com/kemudi/kemudi/internal/controller"
)

// Name is the route controller's name (upstream's).
const Name = "node-route-controller"

// Controller keeps the provider's routes to the nodes' pod CIDRs.
type Controller struct {
	routes       cloudprovider.Routes
	clusterName  string
	clusterCIDRs []netip.Prefix
	client       kubernetes.Interface
	nodes        corelisters.NodeLister
	recorder     record.EventRecorder
	log          *slog.Logger
	period       time.Duration
	kick         chan struct{}
}

// New builds the route controller; it fails when the provider has no
// routes. period is upstream's --route-reconciliation-period.
func New(cc *controller.Context, cloud cloudprovider.Interface, clusterName string, clusterCIDRs []netip.Prefix, period time.Duration) (*Controller, error) {
	routes, ok := cloud.Routes()
	if !ok || routes == nil {
		return nil, fmt.Errorf("cloud provider %s has no routes", cloud.ProviderName())
	}
	if period <= 0 {
		period = 10 * time.Second
	}
	nodes := cc.Informers.Core().V1().Nodes()
	c := &Controller{
		routes: routes, clusterName: clusterName, clusterCIDRs: clusterCIDRs,
		client: cc.Client, nodes: nodes.Lister(), recorder: cc.Recorder("route_controller"), log: cc.Logger(Name), period: period,
		kick: make(chan struct{}, 1),
	}
	kick := func() {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
	if _, err := nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(interface{}) { kick() },
		UpdateFunc: func(o, n interface{}) {
			old, ok1 := o.(*corev1.Node)
			cur, ok2 := n.(*corev1.Node)
			if ok1 && ok2 && fmt.Sprint(podCIDRs(old)) != fmt.Sprint(podCIDRs(cur)) {
				kick()
			}
		},
		DeleteFunc: func(interface{}) { kick() },
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// Run reconciles on node changes and every period until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	t := time.NewTicker(c.period)
	defer t.Stop()
	for {
		if err := c.reconcile(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("reconcile routes", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-c.kick:
		}
	}
}

func (c *Controller) reconcile(ctx context.Context) error {
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return err
	}
	routes, err := c.routes.ListRoutes(ctx, c.clusterName)
	if err != nil {
		return fmt.Errorf("list routes: %w", err)
	}
	p := plan(nodes, routes, c.clusterCIDRs)
	failed := map[types.NodeName]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, r := range p.Create {
		wg.Go(func() {
			start := time.Now()
			if err := c.routes.CreateRoute(ctx, c.clusterName, string(r.TargetNode), r); err != nil {
				mu.Lock()
				failed[r.TargetNode] = true
				mu.Unlock()
				msg := fmt.Sprintf("Could not create route %s for node %s after %v: %v", r.DestinationCIDR, r.TargetNode, time.Since(start), err)
				c.recorder.Event(&corev1.ObjectReference{Kind: "Node", Name: string(r.TargetNode)}, corev1.EventTypeWarning, "FailedToCreateRoute", msg)
				c.log.Warn("create route", "node", r.TargetNode, "cidr", r.DestinationCIDR, "err", err)
			}
		})
	}
	for _, r := range p.Delete {
		wg.Go(func() {
			if err := c.routes.DeleteRoute(ctx, c.clusterName, r); err != nil {
				c.log.Warn("delete route", "node", r.TargetNode, "cidr", r.DestinationCIDR, "err", err)
			}
		})
	}
	wg.Wait()
	for _, n := range nodes {
		if len(podCIDRs(n)) == 0 || n.DeletionTimestamp != nil {
			continue
		}
		if err := c.setNetworkUnavailable(ctx, n, failed[types.NodeName(n.Name)]); err != nil {
			c.log.Warn("node network condition", "node", n.Name, "err", err)
		}
	}
	return nil
}

// setNetworkUnavailable writes the node's NetworkUnavailable condition
// when it changes, as upstream: False (RouteCreated) once its routes
// exist, True (NoRouteCreated) when creating one failed.
func (c *Controller) setNetworkUnavailable(ctx context.Context, n *corev1.Node, unavailable bool) error {
	status, reason, msg := corev1.ConditionFalse, "RouteCreated", "RouteController created a route"
	if unavailable {
		status, reason, msg = corev1.ConditionTrue, "NoRouteCreated", "RouteController failed to create a route"
	}
	for _, cond := range n.Status.Conditions {
		if cond.Type == corev1.NodeNetworkUnavailable && cond.Status == status {
			return nil
		}
	}
	now := metav1.Now()
	p, err := json.Marshal(map[string]any{"status": map[string]any{"conditions": []corev1.NodeCondition{{
		Type: corev1.NodeNetworkUnavailable, Status: status, Reason: reason, Message: msg,
		LastTransitionTime: now, LastHeartbeatTime: now,
	}}}})
	if err != nil {
		return err
	}
	_, err = c.client.CoreV1().Nodes().Patch(ctx, n.Name, types.StrategicMergePatchType, p, metav1.PatchOptions{}, "status")
	return err
}
