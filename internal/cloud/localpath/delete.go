package localpath

import (
	"context"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	storagehelpers "k8s.io/component-helpers/storage/volume"
)

// syncVolume deletes a released volume of this node: its directory,
// then the object.
func (p *LocalPath) syncVolume(ctx context.Context, key string) error {
	pv, err := p.volumes.Get(key)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if pv.Annotations[storagehelpers.AnnDynamicallyProvisioned] != Provisioner {
		return nil
	}
	hostname, err := p.nodeHostname(ctx)
	if err != nil {
		return err
	}
	if DecideDelete(pv, hostname, p.opts.Dir).Step == DeleteKeep {
		return nil
	}
	// Data goes only on what the API says now, not on the cache.
	pv, err = p.getVolume(ctx, key)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get volume %s: %w", key, err)
	}
	plan := DecideDelete(pv, hostname, p.opts.Dir)
	switch plan.Step {
	case DeleteKeep:
		return nil
	case DeleteRefuse:
		p.logger("volume", key).Warn("not deleting", "reason", plan.Message)
		p.recorder.Event(pv, corev1.EventTypeWarning, ReasonVolumeFailedDelete, plan.Message)
		return nil
	}
	return p.delete(ctx, pv, plan.Path)
}

// delete removes the directory, then the volume (only the one looked
// at: a volume made again under its name stays).
func (p *LocalPath) delete(ctx context.Context, pv *corev1.PersistentVolume, path string) error {
	if err := os.RemoveAll(path); err != nil {
		p.recorder.Event(pv, corev1.EventTypeWarning, ReasonVolumeFailedDelete, err.Error())
		return fmt.Errorf("remove %s: %w", path, err)
	}
	uid := pv.UID
	err := p.client.CoreV1().PersistentVolumes().Delete(ctx, pv.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete volume %s: %w", pv.Name, err)
	}
	p.publishCapacity()
	p.logger("volume", pv.Name).Info("deleted", "path", path)
	return nil
}
