package volume

import (
	"context"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/component-helpers/storage/ephemeral"
)

// pvcProtection is the finalizer that keeps a claim in use from going
// away under its pods.
const pvcProtection = "kubernetes.io/pvc-protection"

// claimName is the claim a persistentVolumeClaim or generic ephemeral
// volume uses ("" for other volumes), and whether the pod's volume asks
// for it read-only.
func claimName(pod *corev1.Pod, v *corev1.Volume) (string, bool) {
	switch {
	case v.PersistentVolumeClaim != nil:
		return v.PersistentVolumeClaim.ClaimName, v.PersistentVolumeClaim.ReadOnly
	case v.Ephemeral != nil:
		return ephemeral.VolumeClaimName(pod, v), false
	}
	return "", false
}

// ClaimName is the claim a persistentVolumeClaim or generic ephemeral
// volume uses ("" for other volumes).
func ClaimName(pod *corev1.Pod, v *corev1.Volume) string {
	name, _ := claimName(pod, v)
	return name
}

// ResolveClaim is the persistent volume bound to the claim the pod's
// volume names, checked as upstream's volume manager checks it (the
// claim bound, the volume bound back to it, an ephemeral volume's claim
// the pod's own); its errors are upstream's "error processing PVC ...".
func ResolveClaim(ctx context.Context, client kubernetes.Interface, pod *corev1.Pod, v *corev1.Volume) (*corev1.PersistentVolume, error) {
	name, _ := claimName(pod, v)
	wrap := func(err error) error { return claimError(pod, name, err) }
	pvc, err := client.CoreV1().PersistentVolumeClaims(pod.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, wrap(fmt.Errorf("failed to fetch PVC from API server: %v", err))
	}
	if err := checkClaim(pod, v, pvc); err != nil {
		return nil, err
	}
	pv, err := client.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		return nil, wrap(fmt.Errorf("failed to fetch PV %s from API server: %v", pvc.Spec.VolumeName, err))
	}
	if err := checkPV(pv, pvc); err != nil {
		return nil, wrap(err)
	}
	return pv, nil
}

// checkClaim is upstream's check of a claim before its volume is used:
// the claim must be bound to a volume and not going away unprotected
// ("error processing PVC ..."), and an ephemeral volume's claim must be
// the pod's own.
func checkClaim(pod *corev1.Pod, v *corev1.Volume, pvc *corev1.PersistentVolumeClaim) error {
	var err error
	switch {
	case pvc.DeletionTimestamp != nil && !slices.Contains(pvc.Finalizers, pvcProtection):
		err = errors.New("PVC is being deleted")
	case pvc.Status.Phase != corev1.ClaimBound:
		err = errors.New("PVC is not bound")
	case pvc.Spec.VolumeName == "":
		err = errors.New("PVC has empty pvc.Spec.VolumeName")
	}
	if err != nil {
		return claimError(pod, pvc.Name, err)
	}
	if v.Ephemeral != nil {
		return ephemeral.VolumeIsForPod(pod, pvc)
	}
	return nil
}

func claimError(pod *corev1.Pod, claim string, err error) error {
	return fmt.Errorf("error processing PVC %s/%s: %v", pod.Namespace, claim, err)
}

// checkPV: the volume must be bound back to the claim.
func checkPV(pv *corev1.PersistentVolume, pvc *corev1.PersistentVolumeClaim) error {
	if pv.Spec.ClaimRef == nil {
		return fmt.Errorf("found PV object %s but it has a nil pv.Spec.ClaimRef indicating it is not yet bound to the claim", pv.Name)
	}
	if pv.Spec.ClaimRef.UID != pvc.UID {
		return fmt.Errorf("found PV object %s but its pv.Spec.ClaimRef.UID %s does not point to claim.UID %s", pv.Name, pv.Spec.ClaimRef.UID, pvc.UID)
	}
	return nil
}

// checkMode: a Block volume cannot be mounted as a directory, and this
// kubelet has no raw block devices to give (upstream's messages).
func checkMode(pv *corev1.PersistentVolume, name string, mounted, device bool) error {
	mode := corev1.PersistentVolumeFilesystem
	if pv.Spec.VolumeMode != nil {
		mode = *pv.Spec.VolumeMode
	}
	if mounted && mode != corev1.PersistentVolumeFilesystem {
		return fmt.Errorf("volume %s has volumeMode %s, but is specified in volumeMounts", name, mode)
	}
	if device && mode != corev1.PersistentVolumeBlock {
		return fmt.Errorf("volume %s has volumeMode %s, but is specified in volumeDevices", name, mode)
	}
	if device {
		return fmt.Errorf("volume %s: raw block volumes (volumeDevices) are not supported by this kubelet", name)
	}
	return nil
}

// resolvedVolume is claimVolume's answer, asked of the API the first
// time only.
func (m *Manager) resolvedVolume(ctx context.Context, pod *corev1.Pod, v *corev1.Volume, use volumeUse) (*corev1.PersistentVolume, error) {
	key := string(pod.UID) + "/" + v.Name
	m.mu.Lock()
	pv := m.pvs[key]
	m.mu.Unlock()
	if pv != nil {
		return pv, nil
	}
	pv, err := m.claimVolume(ctx, pod, v, use)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.pvs[key] = pv
	m.mu.Unlock()
	return pv, nil
}

// claimVolume resolves the pod's claim volume to its bound persistent
// volume, as upstream's volume manager does before mounting; its errors
// are upstream's "error processing PVC ...".
func (m *Manager) claimVolume(ctx context.Context, pod *corev1.Pod, v *corev1.Volume, use volumeUse) (*corev1.PersistentVolume, error) {
	pv, err := ResolveClaim(ctx, m.client, pod, v)
	if err != nil {
		return nil, err
	}
	if err := checkMode(pv, v.Name, use.mounted[v.Name], use.devices[v.Name]); err != nil {
		return nil, err
	}
	return pv, nil
}
