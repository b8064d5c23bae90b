package persistentvolume

import (
	"context"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	storagehelpers "k8s.io/component-helpers/storage/volume"
)

// applyClaim carries out a claim's plan.
func (p *Controller) applyClaim(ctx context.Context, claim *corev1.PersistentVolumeClaim, plan ClaimPlan) error {
	switch plan.Step {
	case ClaimBind:
		return p.bind(ctx, plan.Volume, claim)
	case ClaimPending:
		p.event(claim, plan.Event)
		_, err := p.claimStatus(ctx, claim, corev1.ClaimPending, nil)
		return err
	case ClaimLost:
		if claim.Status.Phase == corev1.ClaimLost {
			return nil
		}
		updated, err := p.claimStatus(ctx, claim, corev1.ClaimLost, nil)
		if err != nil {
			return err
		}
		p.event(updated, plan.Event)
		return nil
	case ClaimSetClass:
		c := claim.DeepCopy()
		c.Spec.StorageClassName = &plan.Class
		if _, err := p.client.CoreV1().PersistentVolumeClaims(c.Namespace).Update(ctx, c, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("can't update PersistentVolumeClaim[%q]: %w", claimKey(claim), err)
		}
		p.log.Info("assigned the default storage class to a claim", "claim", claimKey(claim), "class", plan.Class)
		return nil
	case ClaimProvision:
		updated, err := p.setProvisioner(ctx, claim, plan.Provisioner)
		if err != nil {
			p.event(claim, &Event{corev1.EventTypeWarning, ReasonProvisioningFailed, fmt.Sprintf("Error saving claim: %v", err)})
			return err
		}
		p.event(updated, plan.Event)
		return nil
	}
	p.event(claim, plan.Event)
	return plan.Err
}

// setProvisioner annotates the claim with the provisioner that is to
// make its volume (both the GA and the beta key, as upstream).
func (p *Controller) setProvisioner(ctx context.Context, claim *corev1.PersistentVolumeClaim, provisioner string) (*corev1.PersistentVolumeClaim, error) {
	if claim.Annotations[storagehelpers.AnnStorageProvisioner] == provisioner &&
		claim.Annotations[storagehelpers.AnnBetaStorageProvisioner] == provisioner {
		return claim, nil
	}
	c := claim.DeepCopy()
	metav1.SetMetaDataAnnotation(&c.ObjectMeta, storagehelpers.AnnBetaStorageProvisioner, provisioner)
	metav1.SetMetaDataAnnotation(&c.ObjectMeta, storagehelpers.AnnStorageProvisioner, provisioner)
	return p.client.CoreV1().PersistentVolumeClaims(c.Namespace).Update(ctx, c, metav1.UpdateOptions{})
}

// bind writes the binding as upstream, volume first: its claimRef (with
// the claim's uid), its phase Bound, then the claim's volumeName and
// annotations, then its status Bound with capacity and access modes.
// Each write is skipped when already done; a failed one is retried by
// the next sync from where it stopped.
func (p *Controller) bind(ctx context.Context, vol *corev1.PersistentVolume, claim *corev1.PersistentVolumeClaim) error {
	bound, dirty, err := storagehelpers.GetBindVolumeToClaim(vol, claim)
	if err != nil {
		return err
	}
	if dirty {
		updated, err := p.client.CoreV1().PersistentVolumes().Update(ctx, bound, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("bind volume %s to claim %s: %w", vol.Name, claimKey(claim), err)
		}
		vol = updated
	}
	if vol, err = p.volumePhase(ctx, vol, corev1.VolumeBound, ""); err != nil {
		return err
	}
	if c, dirty := ClaimBoundTo(claim, vol); dirty {
		updated, err := p.client.CoreV1().PersistentVolumeClaims(c.Namespace).Update(ctx, c, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("bind claim %s to volume %s: %w", claimKey(c), vol.Name, err)
		}
		claim = updated
		p.log.Info("volume bound to claim", "claim", claimKey(claim), "volume", vol.Name)
	}
	_, err = p.claimStatus(ctx, claim, corev1.ClaimBound, vol)
	return err
}

// claimStatus writes the claim's status for phase when it changes.
func (p *Controller) claimStatus(ctx context.Context, claim *corev1.PersistentVolumeClaim, phase corev1.PersistentVolumeClaimPhase, vol *corev1.PersistentVolume) (*corev1.PersistentVolumeClaim, error) {
	c, dirty, err := ClaimStatus(claim, phase, vol)
	if err != nil || !dirty {
		return claim, err
	}
	updated, err := p.client.CoreV1().PersistentVolumeClaims(c.Namespace).UpdateStatus(ctx, c, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("claim %s status %s: %w", claimKey(c), phase, err)
	}
	return updated, nil
}

// volumePhase writes the volume's phase and message when the phase
// changes.
func (p *Controller) volumePhase(ctx context.Context, vol *corev1.PersistentVolume, phase corev1.PersistentVolumePhase, message string) (*corev1.PersistentVolume, error) {
	if vol.Status.Phase == phase {
		return vol, nil
	}
	v := vol.DeepCopy()
	v.Status.Phase, v.Status.Message = phase, message
	updated, err := p.client.CoreV1().PersistentVolumes().UpdateStatus(ctx, v, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("volume %s phase %s: %w", vol.Name, phase, err)
	}
	p.log.Debug("volume entered phase", "volume", vol.Name, "phase", phase)
	return updated, nil
}

// applyVolume carries out a volume's plan.
func (p *Controller) applyVolume(ctx context.Context, vol *corev1.PersistentVolume, claim *corev1.PersistentVolumeClaim, plan VolumePlan) error {
	switch plan.Step {
	case VolumeSetPhase:
		_, err := p.volumePhase(ctx, vol, plan.Phase, "")
		return err
	case VolumeSyncClaim:
		p.claimLoop.Queue.Add(claimKey(claim))
	case VolumeMismatch:
		p.event(vol, plan.Event)
		p.event(claim, plan.ClaimEvent)
	case VolumeUnbind:
		updated, err := p.client.CoreV1().PersistentVolumes().Update(ctx, VolumeUnbound(vol), metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("unbind volume %s: %w", vol.Name, err)
		}
		_, err = p.volumePhase(ctx, updated, corev1.VolumeAvailable, "")
		return err
	case VolumeRelease:
		if vol.Status.Phase != corev1.VolumeReleased && vol.Status.Phase != corev1.VolumeFailed {
			var err error
			if vol, err = p.volumePhase(ctx, vol, corev1.VolumeReleased, ""); err != nil {
				return err
			}
			p.log.Info("volume released", "volume", vol.Name, "reclaimPolicy", vol.Spec.PersistentVolumeReclaimPolicy)
		}
		return p.reclaim(ctx, vol)
	}
	return nil
}

// reclaim carries out a released volume's reclaim policy.
func (p *Controller) reclaim(ctx context.Context, vol *corev1.PersistentVolume) error {
	plan := DecideReclaim(vol)
	switch plan.Step {
	case ReclaimFail:
		return p.fail(ctx, vol, plan.Event)
	case ReclaimDeleteHostPath:
		// Look again: a claim bound a moment ago keeps its volume.
		current, err := p.client.CoreV1().PersistentVolumes().Get(ctx, vol.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if claim, err := p.claimOf(ctx, current); err != nil || claim != nil && claim.Spec.VolumeName == current.Name {
			return err
		}
		if err := os.RemoveAll(plan.Path); err != nil {
			return p.fail(ctx, current, &Event{corev1.EventTypeWarning, ReasonVolumeFailedDelete, err.Error()})
		}
		err = p.client.CoreV1().PersistentVolumes().Delete(ctx, vol.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete volume %s: %w", vol.Name, err)
		}
		p.log.Info("volume deleted", "volume", vol.Name, "path", plan.Path)
	}
	return nil
}

// fail marks the volume Failed with the event, once: the reclaim is
// tried again at each resync, without another event.
func (p *Controller) fail(ctx context.Context, vol *corev1.PersistentVolume, ev *Event) error {
	if vol.Status.Phase == corev1.VolumeFailed {
		return nil
	}
	updated, err := p.volumePhase(ctx, vol, corev1.VolumeFailed, ev.Message)
	if err != nil {
		return err
	}
	p.event(updated, ev)
	return nil
}

func (p *Controller) event(obj runtime.Object, ev *Event) {
	if ev != nil {
		p.recorder.Event(obj, ev.Type, ev.Reason, ev.Message)
	}
}
