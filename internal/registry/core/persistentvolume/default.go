package persistentvolume

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/registry/core/resourcequota"
)

// Default applies upstream's v1 defaults: reclaim policy Retain, volume
// mode Filesystem, phase Pending, capacity rounded up to milli-units, and
// the per-source defaults (hostPath type, rbd pool/user/keyring, iscsi
// interface, azureDisk and scaleIO settings).
func Default(pv *corev1.PersistentVolume) {
	if pv.Status.Phase == "" {
		pv.Status.Phase = corev1.VolumePending
	}
	if pv.Spec.PersistentVolumeReclaimPolicy == "" {
		pv.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimRetain
	}
	if pv.Spec.VolumeMode == nil {
		fs := corev1.PersistentVolumeFilesystem
		pv.Spec.VolumeMode = &fs
	}
	resourcequota.RoundUpToMilli(pv.Spec.Capacity)
	defaultSource(&pv.Spec.PersistentVolumeSource)
}

func defaultSource(s *corev1.PersistentVolumeSource) {
	if s.HostPath != nil && s.HostPath.Type == nil {
		unset := corev1.HostPathUnset
		s.HostPath.Type = &unset
	}
	if s.RBD != nil {
		setIfEmpty(&s.RBD.RBDPool, "rbd")
		setIfEmpty(&s.RBD.RadosUser, "admin")
		setIfEmpty(&s.RBD.Keyring, "/etc/ceph/keyring")
	}
	if s.ISCSI != nil {
		setIfEmpty(&s.ISCSI.ISCSIInterface, "default")
	}
	if d := s.AzureDisk; d != nil {
		if d.CachingMode == nil {
			m := corev1.AzureDataDiskCachingReadWrite
			d.CachingMode = &m
		}
		if d.FSType == nil {
			fs := "ext4"
			d.FSType = &fs
		}
		if d.ReadOnly == nil {
			ro := false
			d.ReadOnly = &ro
		}
		if d.Kind == nil {
			k := corev1.AzureSharedBlobDisk
			d.Kind = &k
		}
	}
	if s.ScaleIO != nil {
		setIfEmpty(&s.ScaleIO.StorageMode, "ThinProvisioned")
		setIfEmpty(&s.ScaleIO.FSType, "xfs")
	}
}

func setIfEmpty(s *string, v string) {
	if *s == "" {
		*s = v
	}
}

// PrepareForCreate starts every volume Pending, stamping the transition.
func PrepareForCreate(pv *corev1.PersistentVolume, now metav1.Time) {
	pv.Status = corev1.PersistentVolumeStatus{Phase: corev1.VolumePending, LastPhaseTransitionTime: &now}
}

// PrepareForStatusUpdate keeps lastPhaseTransitionTime honest: carried
// over while the phase stays, stamped now when the phase changes and the
// writer did not set a new time itself.
func PrepareForStatusUpdate(pv, old *corev1.PersistentVolume, now metav1.Time) {
	switch {
	case pv.Status.Phase == old.Status.Phase && pv.Status.LastPhaseTransitionTime == nil:
		pv.Status.LastPhaseTransitionTime = old.Status.LastPhaseTransitionTime
	case pv.Status.Phase != old.Status.Phase &&
		(pv.Status.LastPhaseTransitionTime == nil || pv.Status.LastPhaseTransitionTime.Equal(old.Status.LastPhaseTransitionTime)):
		pv.Status.LastPhaseTransitionTime = &now
	}
}
