package nodeipam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/kemudi/kemudi/internal/controller"
)

// Name is the controller's name in --controllers.
const Name = "node-ipam"

// Controller allocates pod CIDRs to nodes.
type Controller struct {
	client   kubernetes.Interface
	nodes    corelisters.NodeLister
	recorder record.EventRecorder
	log      *slog.Logger
	loop     *controller.Loop

	mu   sync.Mutex
	sets []*cidrSet
	// assigned remembers what this controller gave a node until the cache
	// shows it, so that a sync on a stale node does not allocate twice.
	assigned map[string][]netip.Prefix
}

// New builds the node IPAM controller; with AllocateNodeCIDRs off it
// does nothing.
func New(c *controller.Context) (*Controller, error) {
	o := c.Options
	nc := &Controller{
		client:   c.Client,
		recorder: c.Recorder("cidrAllocator"),
		log:      c.Logger(Name),
		assigned: map[string][]netip.Prefix{},
	}
	if !o.AllocateNodeCIDRs {
		return nc, nil
	}
	if len(o.ClusterCIDRs) == 0 || len(o.ClusterCIDRs) > 2 {
		return nil, fmt.Errorf("node-ipam needs one or two cluster CIDRs, got %d", len(o.ClusterCIDRs))
	}
	for _, cidr := range o.ClusterCIDRs {
		size := o.NodeCIDRMaskSize
		if cidr.Addr().Is6() {
			size = o.NodeCIDRMaskSizeIPv6
		}
		s, err := newCIDRSet(cidr, size)
		if err != nil {
			return nil, err
		}
		nc.sets = append(nc.sets, s)
	}
	informer := c.Informers.Core().V1().Nodes()
	nc.nodes = informer.Lister()
	nc.loop = c.NewLoop(Name, nc.sync, nc.log)
	_, err := informer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    nc.loop.Enqueue,
		UpdateFunc: func(_, obj interface{}) { nc.loop.Enqueue(obj) },
		DeleteFunc: nc.nodeDeleted,
	})
	return nc, err
}

// Run takes the prefixes existing nodes hold, then allocates until ctx ends.
func (nc *Controller) Run(ctx context.Context) error {
	if nc.loop == nil {
		<-ctx.Done()
		return nil
	}
	nodes, err := nc.nodes.List(labels.Everything())
	if err != nil {
		return err
	}
	nc.mu.Lock()
	for _, n := range nodes {
		if err := nc.occupy(n.Spec.PodCIDRs); err != nil {
			nc.log.Warn("node holds a CIDR outside the cluster CIDRs", "node", n.Name, "err", err)
		}
	}
	nc.mu.Unlock()
	nc.loop.Run(ctx, 4)
	return nil
}

func (nc *Controller) sync(ctx context.Context, name string) error {
	node, err := nc.nodes.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	nc.mu.Lock()
	if len(node.Spec.PodCIDRs) > 0 {
		delete(nc.assigned, name)
		err := nc.occupy(node.Spec.PodCIDRs)
		nc.mu.Unlock()
		if err != nil {
			nc.log.Warn("node holds a CIDR outside the cluster CIDRs", "node", name, "err", err)
		}
		return nil
	}
	cidrs, ok := nc.assigned[name]
	if !ok {
		for _, s := range nc.sets {
			p, err := s.allocate()
			if err != nil {
				for i, got := range cidrs {
					_ = nc.sets[i].release(got)
				}
				nc.mu.Unlock()
				nc.recordStatus(node, "CIDRNotAvailable")
				return fmt.Errorf("allocate a CIDR for node %s from %s: %w", name, s.cluster, err)
			}
			cidrs = append(cidrs, p)
		}
		nc.assigned[name] = cidrs
	}
	nc.mu.Unlock()

	if err := nc.patch(ctx, name, cidrs); err != nil {
		if apierrors.IsNotFound(err) {
			nc.forget(name)
			return nil
		}
		var status apierrors.APIStatus
		if errors.As(err, &status) && !apierrors.IsServerTimeout(err) && !apierrors.IsTimeout(err) {
			// Refused, not lost: give the prefixes back.
			nc.forget(name)
			nc.recordStatus(node, "CIDRAssignmentFailed")
		}
		return fmt.Errorf("set pod CIDRs of node %s: %w", name, err)
	}
	nc.log.Info("set node pod CIDRs", "node", name, "podCIDRs", cidrs)
	return nil
}

// patch sets spec.podCIDR and spec.podCIDRs.
func (nc *Controller) patch(ctx context.Context, name string, cidrs []netip.Prefix) error {
	strs := make([]string, len(cidrs))
	for i, c := range cidrs {
		strs[i] = c.String()
	}
	body, err := json.Marshal(map[string]interface{}{
		"spec": map[string]interface{}{"podCIDR": strs[0], "podCIDRs": strs},
	})
	if err != nil {
		return err
	}
	_, err = nc.client.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, body, metav1.PatchOptions{})
	return err
}

// forget releases what was allocated to a node and never stored.
func (nc *Controller) forget(name string) {
	nc.mu.Lock()
	defer nc.mu.Unlock()
	for i, p := range nc.assigned[name] {
		_ = nc.sets[i].release(p)
	}
	delete(nc.assigned, name)
}

func (nc *Controller) nodeDeleted(obj interface{}) {
	node, ok := controller.DeletedObject[*corev1.Node](obj)
	if !ok {
		return
	}
	nc.mu.Lock()
	defer nc.mu.Unlock()
	for _, c := range node.Spec.PodCIDRs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			continue
		}
		for _, s := range nc.sets {
			if s.contains(p) {
				_ = s.release(p)
			}
		}
	}
	for i, p := range nc.assigned[node.Name] {
		_ = nc.sets[i].release(p)
	}
	delete(nc.assigned, node.Name)
	nc.log.Debug("released the pod CIDRs of a deleted node", "node", node.Name, "podCIDRs", node.Spec.PodCIDRs)
}

// occupy marks a node's prefixes used; callers hold mu.
func (nc *Controller) occupy(cidrs []string) error {
	var errs []error
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		found := false
		for _, s := range nc.sets {
			if s.contains(p) {
				found = true
				if err := s.occupy(p); err != nil {
					errs = append(errs, err)
				}
			}
		}
		if !found {
			errs = append(errs, fmt.Errorf("%s is in no cluster CIDR", p))
		}
	}
	return errors.Join(errs...)
}

// recordStatus records upstream's node status change event.
func (nc *Controller) recordStatus(node *corev1.Node, status string) {
	ref := &corev1.ObjectReference{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}
	nc.recorder.Eventf(ref, corev1.EventTypeNormal, status, "Node %s status is now: %s", node.Name, status)
}
