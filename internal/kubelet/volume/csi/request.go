package csi

import (
	"slices"

	csipb "github.com/container-storage-interface/spec/lib/go/csi"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
)

// accessMode is the CSI access mode of the volume's first access mode,
// as upstream's kubelet maps it (ReadWriteOnce when none is given).
func accessMode(pv *corev1.PersistentVolume) csipb.VolumeCapability_AccessMode_Mode {
	m := corev1.ReadWriteOnce
	if len(pv.Spec.AccessModes) > 0 {
		m = pv.Spec.AccessModes[0]
	}
	switch m {
	case corev1.ReadOnlyMany:
		return csipb.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY
	case corev1.ReadWriteMany:
		return csipb.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER
	case corev1.ReadWriteOncePod:
		return csipb.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER
	}
	return csipb.VolumeCapability_AccessMode_SINGLE_NODE_WRITER
}

// capability is a filesystem volume's capability: its access mode, the
// PV's fsType and mount options.
func capability(pv *corev1.PersistentVolume) *csipb.VolumeCapability {
	return &csipb.VolumeCapability{
		AccessMode: &csipb.VolumeCapability_AccessMode{Mode: accessMode(pv)},
		AccessType: &csipb.VolumeCapability_Mount{Mount: &csipb.VolumeCapability_MountVolume{
			FsType: pv.Spec.CSI.FSType, MountFlags: pv.Spec.MountOptions,
		}},
	}
}

func stageRequest(pv *corev1.PersistentVolume, staging string, publishContext, secrets map[string]string) *csipb.NodeStageVolumeRequest {
	return &csipb.NodeStageVolumeRequest{
		VolumeId:          pv.Spec.CSI.VolumeHandle,
		PublishContext:    publishContext,
		StagingTargetPath: staging,
		VolumeCapability:  capability(pv),
		Secrets:           secrets,
		VolumeContext:     pv.Spec.CSI.VolumeAttributes,
	}
}

// publishRequest: staging is "" for a driver that does not stage;
// readOnly is the pod's or the PV's.
func publishRequest(pv *corev1.PersistentVolume, staging, target string, readOnly bool, publishContext, volumeContext, secrets map[string]string) *csipb.NodePublishVolumeRequest {
	return &csipb.NodePublishVolumeRequest{
		VolumeId:          pv.Spec.CSI.VolumeHandle,
		PublishContext:    publishContext,
		StagingTargetPath: staging,
		TargetPath:        target,
		VolumeCapability:  capability(pv),
		Readonly:          readOnly || pv.Spec.CSI.ReadOnly,
		Secrets:           secrets,
		VolumeContext:     volumeContext,
	}
}

// podInfo are the attributes a driver with podInfoOnMount gets.
func podInfo(pod *corev1.Pod) map[string]string {
	return map[string]string{
		"csi.storage.k8s.io/pod.name":            pod.Name,
		"csi.storage.k8s.io/pod.namespace":       pod.Namespace,
		"csi.storage.k8s.io/pod.uid":             string(pod.UID),
		"csi.storage.k8s.io/serviceAccount.name": pod.Spec.ServiceAccountName,
		"csi.storage.k8s.io/ephemeral":           "false",
	}
}

// merge is a and b in a new map, b winning.
func merge(a, b map[string]string) map[string]string {
	if len(a)+len(b) == 0 {
		return nil
	}
	out := make(map[string]string, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// ownershipDue reports whether the kubelet applies the pod's fsGroup to
// the published volume, by the driver's fsGroupPolicy as upstream: File
// always, None never, ReadWriteOnceWithFSType (the default) for a
// ReadWriteOnce volume with an fsType; never for a read-only mount.
func ownershipDue(pv *corev1.PersistentVolume, d *storagev1.CSIDriver, hasFSGroup, readOnly bool) bool {
	policy := storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy
	if d != nil && d.Spec.FSGroupPolicy != nil {
		policy = *d.Spec.FSGroupPolicy
	}
	switch {
	case !hasFSGroup || readOnly || policy == storagev1.NoneFSGroupPolicy:
		return false
	case policy == storagev1.FileFSGroupPolicy:
		return true
	}
	return pv.Spec.CSI.FSType != "" && slices.Contains(pv.Spec.AccessModes, corev1.ReadWriteOnce)
}
