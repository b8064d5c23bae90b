package localpath

import (
	"context"
	"errors"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	storagehelpers "k8s.io/component-helpers/storage/volume"

	"github.com/kemudi/kemudi/internal/controller"
)

// errNoRoom is a claim larger than the node's free space: the scheduler
// is to place it elsewhere.
var errNoRoom = errors.New("not enough free space")

// syncClaim provisions an unbound claim placed on this node, or grows a
// bound one.
func (p *LocalPath) syncClaim(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return controller.Terminal(err)
	}
	claim, err := p.claims.PersistentVolumeClaims(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	class := p.class(claim)
	if claim.Spec.VolumeName != "" {
		return p.expand(ctx, key, claim, class)
	}
	plan := DecideProvision(claim, class, p.opts.NodeName)
	switch plan.Step {
	case ProvisionSkip:
		return nil
	case ProvisionRefuse:
		p.refuse(claim, plan.Message)
		return nil
	}
	if d := p.backoff.wait(key, claim.UID, p.now()); d > 0 {
		return controller.RequeueAfter(d)
	}
	return p.provision(ctx, key, claim, class)
}

// class is the claim's StorageClass, nil when it names none or the class
// does not exist.
func (p *LocalPath) class(claim *corev1.PersistentVolumeClaim) *storagev1.StorageClass {
	name := storagehelpers.GetPersistentVolumeClaimClass(claim)
	if name == "" {
		return nil
	}
	c, err := p.classes.Get(name)
	if err != nil {
		return nil
	}
	return c
}

// refuse tells a claim once that local-path cannot provision it.
func (p *LocalPath) refuse(claim *corev1.PersistentVolumeClaim, msg string) {
	p.mu.Lock()
	told := p.refused[claim.UID]
	p.refused[claim.UID] = true
	p.mu.Unlock()
	if !told {
		p.recorder.Event(claim, corev1.EventTypeWarning, ReasonProvisioningFailed, msg)
	}
}

// provision makes the claim's directory and volume, as external-
// provisioner with its events; a claim too large for the node goes back
// to the scheduler, other failures are retried after the claim's backoff.
func (p *LocalPath) provision(ctx context.Context, key string, claim *corev1.PersistentVolumeClaim, class *storagev1.StorageClass) error {
	log := p.logger("claim", key)
	done, err := p.provisioned(ctx, claim)
	if err != nil {
		return err
	}
	if done {
		p.backoff.forget(key)
		return nil
	}
	p.recorder.Eventf(claim, corev1.EventTypeNormal, ReasonProvisioning, "External provisioner is provisioning volume for claim %q", key)
	pv, err := p.makeVolume(ctx, claim, class)
	if err != nil {
		msg := failedWith(class.Name, err.Error())
		p.recorder.Event(claim, corev1.EventTypeWarning, ReasonProvisioningFailed, msg)
		wait := p.backoff.failed(key, claim.UID, p.now())
		log.Warn("provisioning failed", "err", err, "retry", wait)
		if errors.Is(err, errNoRoom) {
			return p.reschedule(ctx, claim)
		}
		return controller.RequeueAfter(wait)
	}
	p.backoff.forget(key)
	p.publishCapacity()
	log.Info("provisioned", "volume", pv.Name, "path", VolumePath(p.opts.Dir, claim))
	p.recorder.Eventf(claim, corev1.EventTypeNormal, ReasonProvisioningSucceeded, "Successfully provisioned volume %s", pv.Name)
	return nil
}

// provisioned says whether the claim's volume exists already (the
// cache may not have seen the one made by the previous sync).
func (p *LocalPath) provisioned(ctx context.Context, claim *corev1.PersistentVolumeClaim) (bool, error) {
	name := VolumeName(claim)
	if _, err := p.volumes.Get(name); err == nil {
		return true, nil
	}
	_, err := p.getVolume(ctx, name)
	switch {
	case err == nil:
		return true, nil
	case apierrors.IsNotFound(err):
		return false, nil
	}
	return false, fmt.Errorf("get volume %s: %w", name, err)
}

// makeVolume checks the free space, makes the directory (or reuses the
// one a crash left) and creates the volume.
func (p *LocalPath) makeVolume(ctx context.Context, claim *corev1.PersistentVolumeClaim, class *storagev1.StorageClass) (*corev1.PersistentVolume, error) {
	hostname, err := p.nodeHostname(ctx)
	if err != nil {
		return nil, err
	}
	free, err := p.opts.FreeBytes(p.opts.Dir)
	if err != nil {
		return nil, err
	}
	if err := CheckFree(claimRequest(claim), free, p.opts.NodeName, p.opts.Dir); err != nil {
		return nil, fmt.Errorf("%w: %w", errNoRoom, err)
	}
	path := VolumePath(p.opts.Dir, claim)
	if err := makeDir(path); err != nil {
		return nil, err
	}
	want := VolumeFor(claim, class, hostname, path)
	pv, err := p.client.CoreV1().PersistentVolumes().Create(ctx, want, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		pv, err = p.getVolume(ctx, want.Name)
		if err == nil && (pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.UID != claim.UID) {
			err = fmt.Errorf("volume %s exists and is not this claim's", want.Name)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("create volume %s: %w", want.Name, err)
	}
	return pv, nil
}

// makeDir makes a volume's directory writable by every pod's user, as
// local-path-provisioner does (mkdir -m 0777): the pod's user is not
// known here.
func makeDir(path string) error {
	if err := os.MkdirAll(path, 0o777); err != nil {
		return fmt.Errorf("make %s: %w", path, err)
	}
	// MkdirAll's mode goes through the umask.
	if err := os.Chmod(path, 0o777); err != nil {
		return fmt.Errorf("make %s: %w", path, err)
	}
	return nil
}

// reschedule removes the claim's selected-node, as external-provisioner
// does when a node cannot hold a volume: the scheduler then places the
// claim's pod again, maybe elsewhere.
func (p *LocalPath) reschedule(ctx context.Context, claim *corev1.PersistentVolumeClaim) error {
	if claim.Annotations[storagehelpers.AnnSelectedNode] != p.opts.NodeName {
		return nil
	}
	c := claim.DeepCopy()
	delete(c.Annotations, storagehelpers.AnnSelectedNode)
	_, err := p.client.CoreV1().PersistentVolumeClaims(c.Namespace).Update(ctx, c, metav1.UpdateOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove %s from claim %s/%s: %w", storagehelpers.AnnSelectedNode, c.Namespace, c.Name, err)
	}
	return nil
}
