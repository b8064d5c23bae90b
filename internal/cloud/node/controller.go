package node

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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

// Name is the cloud node controller's name (upstream's).
const Name = "cloud-node-controller"

// Controller initializes nodes from the provider and keeps their
// addresses in step with it.
type Controller struct {
	inst     *instance
	client   kubernetes.Interface
	nodes    corelisters.NodeLister
	recorder record.EventRecorder
	log      *slog.Logger
	loop     *controller.Loop
	// statusPeriod is how often every node's addresses are compared
	// with the provider's (upstream's --node-status-update-frequency).
	statusPeriod time.Duration
}

// New builds the cloud node controller; it fails when the provider
// knows no instances.
func New(c *controller.Context, cloud cloudprovider.Interface, statusPeriod time.Duration) (*Controller, error) {
	inst, err := newInstance(cloud)
	if err != nil {
		return nil, err
	}
	if statusPeriod <= 0 {
		statusPeriod = 5 * time.Minute
	}
	inf := c.Informers.Core().V1().Nodes()
	n := &Controller{
		inst:         inst,
		client:       c.Client,
		nodes:        inf.Lister(),
		recorder:     c.Recorder(Name),
		log:          c.Logger(Name),
		statusPeriod: statusPeriod,
	}
	n.loop = c.NewLoop(Name, n.sync, n.log)
	if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: n.loop.Enqueue,
		UpdateFunc: func(_, obj interface{}) {
			if node, ok := obj.(*corev1.Node); ok && needsInit(node) {
				n.loop.Enqueue(node)
			}
		},
	}); err != nil {
		return nil, err
	}
	return n, nil
}

// Run initializes nodes as they come and refreshes every node's
// addresses each status period, until ctx ends.
func (n *Controller) Run(ctx context.Context) error {
	go func() {
		t := time.NewTicker(n.statusPeriod)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				nodes, _ := n.nodes.List(labels.Everything())
				for _, node := range nodes {
					n.loop.Enqueue(node)
				}
			}
		}
	}()
	n.loop.Run(ctx, 4)
	return nil
}

func (n *Controller) sync(ctx context.Context, name string) error {
	node, err := n.nodes.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if needsInit(node) {
		// A node registering for a machine the provider no longer has
		// (a removed machine's kubelet starting again) is not taken in.
		exists, err := n.inst.exists(ctx, node)
		if err != nil {
			return fmt.Errorf("does the instance of node %s exist: %w", name, err)
		}
		if !exists {
			return deleteGone(ctx, n.client, n.recorder, n.log, node)
		}
	}
	md, err := n.inst.metadata(ctx, node)
	if err != nil {
		return fmt.Errorf("instance metadata of node %s: %w", name, err)
	}
	want := initialized(node, md)
	if !addressesEqual(node.Status.Addresses, want.Status.Addresses) {
		// Addresses first: once the taint is off, pods land and need them.
		if err := n.patchAddresses(ctx, name, want.Status.Addresses); err != nil {
			return err
		}
	}
	if !needsInit(node) {
		return nil
	}
	if err := n.patchMeta(ctx, node, want); err != nil {
		return err
	}
	n.log.Info("node initialized", "node", name, "providerID", want.Spec.ProviderID)
	n.recorder.Event(&corev1.ObjectReference{Kind: "Node", Name: name, UID: node.UID}, corev1.EventTypeNormal, "Synced", "Node synced successfully")
	return nil
}

func (n *Controller) patchAddresses(ctx context.Context, name string, addrs []corev1.NodeAddress) error {
	// A JSON merge patch replaces the whole list (a strategic one would
	// merge by type, losing a second address of one type).
	p, err := json.Marshal(map[string]any{"status": map[string]any{"addresses": addrs}})
	if err != nil {
		return err
	}
	if _, err := n.client.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, p, metav1.PatchOptions{}, "status"); err != nil {
		return fmt.Errorf("update addresses of node %s: %w", name, err)
	}
	return nil
}

// patchMeta writes providerID, labels and taints, guarded by the
// resourceVersion read (the taints are replaced whole).
func (n *Controller) patchMeta(ctx context.Context, node, want *corev1.Node) error {
	meta := map[string]any{"resourceVersion": node.ResourceVersion}
	if !equality.Semantic.DeepEqual(node.Labels, want.Labels) {
		meta["labels"] = want.Labels
	}
	spec := map[string]any{"taints": want.Spec.Taints}
	if node.Spec.ProviderID == "" {
		spec["providerID"] = want.Spec.ProviderID
	}
	p, err := json.Marshal(map[string]any{"metadata": meta, "spec": spec})
	if err != nil {
		return err
	}
	if _, err := n.client.CoreV1().Nodes().Patch(ctx, node.Name, types.MergePatchType, p, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("initialize node %s: %w", node.Name, err)
	}
	return nil
}
