package volumebinding

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	volumehelpers "k8s.io/component-helpers/storage/volume"
)

// checkBound is upstream's checkBindings on the listers: done when
// every claim of r is fully bound to a volume node may use; an error
// when that can no longer happen (the volume was given to another
// claim, the provisioner gave up on node and removed the annotation,
// the pod or a claim is gone). Objects older than what PreBind wrote
// mean the informers are behind: not done yet.
func (pl *Plugin) checkBound(pod *corev1.Pod, node string, r *reservation) (bool, error) {
	n, err := pl.l.Nodes.Get(node)
	if err != nil {
		return false, fmt.Errorf("failed to get node %q: %w", node, err)
	}
	if pl.binding.Pods != nil {
		if p, err := pl.binding.Pods.Pods(pod.Namespace).Get(pod.Name); apierrors.IsNotFound(err) || err == nil && p.UID != pod.UID {
			return false, fmt.Errorf("pod does not exist any more: %s/%s", pod.Namespace, pod.Name)
		}
	}
	for _, b := range r.static {
		ok, err := pl.checkStatic(n, b)
		if err != nil || !ok {
			return false, err
		}
	}
	for _, pvc := range r.provision {
		ok, err := pl.checkProvisioned(n, pvc)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

func (pl *Plugin) checkStatic(node *corev1.Node, b boundClaim) (bool, error) {
	pv, err := pl.l.Volumes.Get(b.pv.Name)
	if err != nil {
		return false, fmt.Errorf("failed to check binding: %w", err)
	}
	pvc, err := pl.l.Claims.PersistentVolumeClaims(b.claim.Namespace).Get(b.claim.Name)
	if err != nil {
		return false, fmt.Errorf("failed to check binding: %w", err)
	}
	if newer(b.pv.ResourceVersion, pv.ResourceVersion) {
		return false, nil
	}
	if err := volumehelpers.CheckNodeAffinity(pv, node.Labels); err != nil {
		return false, fmt.Errorf("pv %q node affinity doesn't match node %q: %w", pv.Name, node.Name, err)
	}
	ref := pv.Spec.ClaimRef
	if ref == nil || ref.UID == "" {
		return false, fmt.Errorf("ClaimRef got reset for pv %q", pv.Name)
	}
	if ref.UID != b.claim.UID || pvc.UID != b.claim.UID {
		return false, fmt.Errorf("pv %q is bound to another claim %s/%s", pv.Name, ref.Namespace, ref.Name)
	}
	return fullyBound(pvc), nil
}

func (pl *Plugin) checkProvisioned(node *corev1.Node, written *corev1.PersistentVolumeClaim) (bool, error) {
	pvc, err := pl.l.Claims.PersistentVolumeClaims(written.Namespace).Get(written.Name)
	if err != nil {
		return false, fmt.Errorf("failed to check provisioning pvc: %w", err)
	}
	if newer(written.ResourceVersion, pvc.ResourceVersion) {
		return false, nil
	}
	if pvc.Annotations == nil {
		return false, fmt.Errorf("selectedNode annotation reset for PVC %q", pvc.Name)
	}
	if pvc.Annotations[volumehelpers.AnnSelectedNode] != node.Name {
		return false, fmt.Errorf("provisioning failed for PVC %q", pvc.Name)
	}
	if pvc.Spec.VolumeName != "" {
		pv, err := pl.l.Volumes.Get(pvc.Spec.VolumeName)
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("failed to get pv %q from cache: %w", pvc.Spec.VolumeName, err)
		}
		if err := volumehelpers.CheckNodeAffinity(pv, node.Labels); err != nil {
			return false, fmt.Errorf("pv %q node affinity doesn't match node %q: %w", pv.Name, node.Name, err)
		}
	}
	return fullyBound(pvc), nil
}
