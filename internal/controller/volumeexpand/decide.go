package volumeexpand

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// annPreResizeCapacity marks a volume whose expansion is still under
// way (upstream's volume.alpha.kubernetes.io/pre-resize-capacity).
const annPreResizeCapacity = "volume.alpha.kubernetes.io/pre-resize-capacity"

// wantsGrowth reports whether a claim is to be expanded: it asks more
// than its status holds, or its volume is still being expanded. A
// volume that is not the claim's is an error (the caches disagree for
// now; upstream retries too).
func wantsGrowth(pvc *corev1.PersistentVolumeClaim, pv *corev1.PersistentVolume) (bool, error) {
	if ref := pv.Spec.ClaimRef; ref == nil || ref.Namespace != pvc.Namespace || ref.UID != pvc.UID {
		return false, fmt.Errorf("persistent Volume is not bound to PVC being updated : %s/%s", pvc.Namespace, pvc.Name)
	}
	req := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	have := pvc.Status.Capacity[corev1.ResourceStorage]
	return req.Cmp(have) > 0 || metav1.HasAnnotation(pv.ObjectMeta, annPreResizeCapacity), nil
}

// grew reports whether an update concerns the controller: the request
// or the capacity in status went up (upstream's update filter).
func grew(old, cur *corev1.PersistentVolumeClaim) bool {
	oldReq, curReq := old.Spec.Resources.Requests[corev1.ResourceStorage], cur.Spec.Resources.Requests[corev1.ResourceStorage]
	oldCap, curCap := old.Status.Capacity[corev1.ResourceStorage], cur.Status.Capacity[corev1.ResourceStorage]
	return curReq.Cmp(oldReq) > 0 || curCap.Cmp(oldCap) > 0
}
