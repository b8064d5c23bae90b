package attachdetach

import (
	"cmp"
	"slices"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/component-helpers/storage/ephemeral"

	"github.com/kemudi/kemudi/internal/registry/storage/csidriver"
	"github.com/kemudi/kemudi/internal/registry/storage/volumeattachment"
)

// Volume is a CSI persistent volume that pods on a node need attached.
type Volume struct {
	Name   corev1.UniqueVolumeName
	PV     string
	Driver string
	Handle string
	// MultiAttach is false for a volume only one node may attach
	// (ReadWriteOnce or ReadWriteOncePod only).
	MultiAttach bool
	// Pods are the pods that need it, for events.
	Pods []*corev1.Pod
}

// Objects finds what pods' volumes refer to (informer caches in the
// controller, maps in tests); a nil result means not found.
type Objects interface {
	Claim(namespace, name string) *corev1.PersistentVolumeClaim
	PersistentVolume(name string) *corev1.PersistentVolume
	Driver(name string) *storagev1.CSIDriver
}

// Desired returns the volumes the pods on a node need attached: the CSI
// persistent volumes behind their bound claims (ephemeral volumes'
// claims too), whose driver requires attaching, for the pods that are
// not terminated. Volumes are sorted by unique name.
func Desired(pods []*corev1.Pod, objs Objects) []Volume {
	byName := map[corev1.UniqueVolumeName]*Volume{}
	for _, pod := range pods {
		if podTerminated(pod) {
			continue
		}
		for i := range pod.Spec.Volumes {
			pv := boundVolume(pod, &pod.Spec.Volumes[i], objs)
			if pv == nil || pv.Spec.CSI == nil {
				continue
			}
			csi := pv.Spec.CSI
			if d := objs.Driver(csi.Driver); d != nil && !csidriver.AttachRequired(d) {
				continue
			}
			name := volumeattachment.UniqueVolumeName(csi.Driver, csi.VolumeHandle)
			v := byName[name]
			if v == nil {
				v = &Volume{Name: name, PV: pv.Name, Driver: csi.Driver, Handle: csi.VolumeHandle, MultiAttach: multiAttach(pv)}
				byName[name] = v
			}
			if !slices.Contains(v.Pods, pod) {
				v.Pods = append(v.Pods, pod)
			}
		}
	}
	out := make([]Volume, 0, len(byName))
	for _, v := range byName {
		out = append(out, *v)
	}
	slices.SortFunc(out, func(a, b Volume) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// boundVolume is the persistent volume a pod volume uses through a bound
// claim, nil when there is none (yet).
func boundVolume(pod *corev1.Pod, v *corev1.Volume, objs Objects) *corev1.PersistentVolume {
	var claimName string
	switch {
	case v.PersistentVolumeClaim != nil:
		claimName = v.PersistentVolumeClaim.ClaimName
	case v.Ephemeral != nil:
		claimName = ephemeral.VolumeClaimName(pod, v)
	default:
		return nil
	}
	pvc := objs.Claim(pod.Namespace, claimName)
	if pvc == nil || pvc.Status.Phase != corev1.ClaimBound || pvc.Spec.VolumeName == "" {
		return nil
	}
	// An ephemeral volume's claim is the pod's own, not a namesake's.
	if v.Ephemeral != nil && !metav1.IsControlledBy(pvc, pod) {
		return nil
	}
	pv := objs.PersistentVolume(pvc.Spec.VolumeName)
	if pv == nil || pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.UID != pvc.UID {
		return nil
	}
	return pv
}

// podTerminated is upstream's test of a pod whose volumes are no longer
// needed: it ended, or it is being deleted and nothing in it runs.
func podTerminated(p *corev1.Pod) bool {
	if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		return true
	}
	return p.DeletionTimestamp != nil && notRunning(p.Status.InitContainerStatuses) &&
		notRunning(p.Status.ContainerStatuses) && notRunning(p.Status.EphemeralContainerStatuses)
}

func notRunning(statuses []corev1.ContainerStatus) bool {
	for _, s := range statuses {
		if s.State.Terminated == nil && s.State.Waiting == nil {
			return false
		}
	}
	return true
}

// multiAttach: a volume without access modes, or with a many-node
// mode, may be attached to several nodes at once, as upstream decides.
func multiAttach(pv *corev1.PersistentVolume) bool {
	if len(pv.Spec.AccessModes) == 0 {
		return true
	}
	for _, m := range pv.Spec.AccessModes {
		if m == corev1.ReadWriteMany || m == corev1.ReadOnlyMany {
			return true
		}
	}
	return false
}
