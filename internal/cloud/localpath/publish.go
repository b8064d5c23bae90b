package localpath

import (
	"context"
	"fmt"
	"slices"

	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kemudi/kemudi/internal/controller"
)

// capacityKey is the publisher's one queue key: every trigger (the
// period, a class changed, a volume made or deleted) syncs it all.
const capacityKey = "capacity"

// publishCapacity asks for the node's capacities to be published again
// now (after a volume was made, grown or deleted, or a class changed).
func (p *LocalPath) publishCapacity() { p.capacityQ.Queue.Add(capacityKey) }

// syncCapacity publishes this node's free space for each class of this
// provisioner, then looks again after the period.
func (p *LocalPath) syncCapacity(ctx context.Context, _ string) error {
	node, err := p.client.CoreV1().Nodes().Get(ctx, p.opts.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		// Not registered yet (or removed): nothing to own the objects.
		return controller.RequeueAfter(p.opts.RetryStart)
	}
	if err != nil {
		return fmt.Errorf("get node %s: %w", p.opts.NodeName, err)
	}
	freeBytes, err := p.opts.FreeBytes(p.opts.Dir)
	if err != nil {
		return err
	}
	classes, err := p.ownClasses()
	if err != nil {
		return err
	}
	capacities := p.client.StorageV1().CSIStorageCapacities(CapacityNamespace)
	list, err := capacities.List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(capacityLabels(Hostname(node))).String()})
	if err != nil {
		return fmt.Errorf("list published capacities: %w", err)
	}
	published := make([]*storagev1.CSIStorageCapacity, len(list.Items))
	for i := range list.Items {
		published[i] = &list.Items[i]
	}
	free := FreeQuantity(freeBytes)
	plan := PlanCapacity(classes, node, free, published)
	for _, c := range plan.Delete {
		uid := c.UID
		err := capacities.Delete(ctx, c.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete capacity %s: %w", c.Name, err)
		}
	}
	for _, c := range plan.Update {
		if _, err := capacities.Update(ctx, c, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("update capacity %s of class %s: %w", c.Name, c.StorageClassName, err)
		}
	}
	for _, class := range plan.Create {
		if _, err := capacities.Create(ctx, NewCapacity(class, node, free), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("publish capacity of class %s: %w", class, err)
		}
	}
	if len(plan.Create)+len(plan.Update)+len(plan.Delete) > 0 {
		p.opts.Log.Debug("published capacity", "free", free.String(), "classes", classes)
	}
	return controller.RequeueAfter(p.opts.CapacityPeriod)
}

// ownClasses are the names of the classes of this provisioner, sorted.
func (p *LocalPath) ownClasses() ([]string, error) {
	all, err := p.classes.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	var names []string
	for _, c := range all {
		if c.Provisioner == Provisioner {
			names = append(names, c.Name)
		}
	}
	slices.Sort(names)
	return names, nil
}
