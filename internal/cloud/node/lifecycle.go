package node

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/record"
	cloudprovider "k8s.io/cloud-provider"
	cloudapi "k8s.io/cloud-provider/api"

	"github.com/kemudi/kemudi/internal/controller"
)

// LifecycleName is the cloud node lifecycle controller's name
// (upstream's).
const LifecycleName = "cloud-node-lifecycle-controller"

// ShutdownTaint marks a node whose instance is shut down.
var ShutdownTaint = corev1.Taint{Key: cloudapi.TaintNodeShutdown, Effect: corev1.TaintEffectNoSchedule}

// Lifecycle deletes nodes whose instance is gone and taints those whose
// instance is shut down.
type Lifecycle struct {
	inst     *instance
	client   kubernetes.Interface
	nodes    corelisters.NodeLister
	recorder record.EventRecorder
	log      *slog.Logger
	period   time.Duration
}

// action is what the lifecycle controller does about one node.
type action int

const (
	keep action = iota
	deleteNode
	addShutdownTaint
	removeShutdownTaint
)

// decide is the lifecycle controller's rule for one node, given what
// the provider says of its instance (asked only for nodes not Ready).
func decide(node *corev1.Node, exists, shutdown bool) action {
	tainted := hasTaint(node, cloudapi.TaintNodeShutdown)
	switch {
	case isReady(node):
		if tainted {
			return removeShutdownTaint
		}
		return keep
	case !exists:
		return deleteNode
	case shutdown && !tainted:
		return addShutdownTaint
	case !shutdown && tainted:
		return removeShutdownTaint
	}
	return keep
}

// NewLifecycle builds the lifecycle controller, which looks at every
// node each period (upstream's --node-monitor-period).
func NewLifecycle(c *controller.Context, cloud cloudprovider.Interface, period time.Duration) (*Lifecycle, error) {
	inst, err := newInstance(cloud)
	if err != nil {
		return nil, err
	}
	if period <= 0 {
		period = 5 * time.Second
	}
	inf := c.Informers.Core().V1().Nodes()
	inf.Informer()
	return &Lifecycle{
		inst: inst, client: c.Client, nodes: inf.Lister(),
		recorder: c.Recorder(LifecycleName), log: c.Logger(LifecycleName), period: period,
	}, nil
}

// Run checks the nodes each period until ctx ends.
func (l *Lifecycle) Run(ctx context.Context) error {
	t := time.NewTicker(l.period)
	defer t.Stop()
	for {
		l.checkAll(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (l *Lifecycle) checkAll(ctx context.Context) {
	nodes, err := l.nodes.List(labels.Everything())
	if err != nil {
		return
	}
	for _, n := range nodes {
		if err := l.check(ctx, n); err != nil && ctx.Err() == nil {
			l.log.Warn("node lifecycle", "node", n.Name, "err", err)
		}
	}
}

func (l *Lifecycle) check(ctx context.Context, node *corev1.Node) error {
	exists, shutdown := true, false
	if !isReady(node) {
		var err error
		if exists, err = l.inst.exists(ctx, node); err != nil {
			return fmt.Errorf("does the instance exist: %w", err)
		}
		if exists {
			if shutdown, err = l.inst.shutdown(ctx, node); err != nil {
				return fmt.Errorf("is the instance shut down: %w", err)
			}
		}
	}
	switch decide(node, exists, shutdown) {
	case deleteNode:
		return deleteGone(ctx, l.client, l.recorder, l.log, node)
	case addShutdownTaint:
		taint := ShutdownTaint
		now := metav1.Now()
		taint.TimeAdded = &now
		return l.setTaints(ctx, node, append(slices.Clone(node.Spec.Taints), taint))
	case removeShutdownTaint:
		return l.setTaints(ctx, node, slices.DeleteFunc(slices.Clone(node.Spec.Taints), func(t corev1.Taint) bool { return t.Key == cloudapi.TaintNodeShutdown }))
	}
	return nil
}

// deleteGone deletes a node whose instance is gone (event DeletingNode,
// upstream's words), guarded by its UID: a node registered again since
// is looked at anew.
func deleteGone(ctx context.Context, client kubernetes.Interface, rec record.EventRecorder, log *slog.Logger, node *corev1.Node) error {
	log.Info("deleting node: its instance is gone", "node", node.Name)
	ref := &corev1.ObjectReference{Kind: "Node", Name: node.Name, UID: node.UID}
	rec.Eventf(ref, corev1.EventTypeNormal, "DeletingNode", "Deleting node %s because it does not exist in the cloud provider", node.Name)
	err := client.CoreV1().Nodes().Delete(ctx, node.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &node.UID}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		rec.Eventf(ref, corev1.EventTypeWarning, "DeletingNodeFailed", "Failed deleting node %s: %v", node.Name, err)
		return fmt.Errorf("delete node %s: %w", node.Name, err)
	}
	return nil
}

// setTaints replaces the node's taints, guarded by its resourceVersion.
func (l *Lifecycle) setTaints(ctx context.Context, node *corev1.Node, taints []corev1.Taint) error {
	p, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"resourceVersion": node.ResourceVersion},
		"spec":     map[string]any{"taints": taints},
	})
	if err != nil {
		return err
	}
	if _, err := l.client.CoreV1().Nodes().Patch(ctx, node.Name, types.MergePatchType, p, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("taints of node %s: %w", node.Name, err)
	}
	return nil
}

func isReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
