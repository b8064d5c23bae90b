package localpath

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	storagehelpers "k8s.io/component-helpers/storage/volume"

	"github.com/kemudi/kemudi/internal/controller"
)

// expand grows a bound claim's volume of this node, as external-resizer
// and the kubelet do for a volume that needs no node step (a directory
// has no filesystem of its own to grow): the volume's capacity, then
// the claim's status.
func (p *LocalPath) expand(ctx context.Context, key string, claim *corev1.PersistentVolumeClaim, class *storagev1.StorageClass) error {
	pv, err := p.volumes.Get(claim.Spec.VolumeName)
	if err != nil || pv.Annotations[storagehelpers.AnnDynamicallyProvisioned] != Provisioner {
		return nil
	}
	hostname, err := p.nodeHostname(ctx)
	if err != nil {
		return err
	}
	plan := DecideExpand(claim, pv, class, hostname)
	if plan.Step == ExpandNone {
		return nil
	}
	if d := p.backoff.wait(key, claim.UID, p.now()); d > 0 {
		return controller.RequeueAfter(d)
	}
	if plan.Step == ExpandVolume {
		p.recorder.Eventf(claim, corev1.EventTypeNormal, ReasonResizing, "External resizer is resizing volume %s", pv.Name)
		if err := p.roomFor(plan.Grow); err != nil {
			p.recorder.Eventf(claim, corev1.EventTypeWarning, ReasonVolumeResizeFailed, "resize volume %q by resizer %q failed: %v", pv.Name, Provisioner, err)
			return controller.RequeueAfter(p.backoff.failed(key, claim.UID, p.now()))
		}
		v := pv.DeepCopy()
		v.Spec.Capacity[corev1.ResourceStorage] = plan.Size
		if _, err := p.client.CoreV1().PersistentVolumes().Update(ctx, v, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("grow volume %s to %s: %w", pv.Name, plan.Size.String(), err)
		}
		p.publishCapacity()
	}
	c := claim.DeepCopy()
	if c.Status.Capacity == nil {
		c.Status.Capacity = corev1.ResourceList{}
	}
	if c.Status.AllocatedResources == nil {
		c.Status.AllocatedResources = corev1.ResourceList{}
	}
	c.Status.Capacity[corev1.ResourceStorage] = plan.Size
	c.Status.AllocatedResources[corev1.ResourceStorage] = plan.Size
	delete(c.Status.AllocatedResourceStatuses, corev1.ResourceStorage)
	if _, err := p.client.CoreV1().PersistentVolumeClaims(c.Namespace).UpdateStatus(ctx, c, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("record size %s on claim %s: %w", plan.Size.String(), key, err)
	}
	p.backoff.forget(key)
	p.recorder.Eventf(claim, corev1.EventTypeNormal, ReasonFileSystemResizeSuccessful,
		"volume %s on node %s now holds %s (a directory: nothing to grow on the node)", pv.Name, p.opts.NodeName, plan.Size.String())
	return nil
}

// roomFor checks that the node's storage filesystem has grow free.
func (p *LocalPath) roomFor(grow resource.Quantity) error {
	free, err := p.opts.FreeBytes(p.opts.Dir)
	if err != nil {
		return err
	}
	return CheckFree(grow, free, p.opts.NodeName, p.opts.Dir)
}
