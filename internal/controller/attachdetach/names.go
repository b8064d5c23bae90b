package attachdetach

import (
	"crypto/sha256"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// ManagedAnnotation marks a node whose attachments the controller
// manages (the kubelet sets it when it registers).
const ManagedAnnotation = "volumes.kubernetes.io/controller-managed-attach-detach"

// csiPlugin prefixes the unique name of a CSI volume, "^" separates the
// driver from the volume handle, as upstream's CSI plugin names them.
const (
	csiPlugin = "kubernetes.io/csi/"
	csiSep    = "^"
)

// AttachmentName is the VolumeAttachment of a volume on a node, as
// upstream's CSI attacher names it (so that either finds the other's).
func AttachmentName(handle, driver, node string) string {
	return fmt.Sprintf("csi-%x", sha256.Sum256([]byte(handle+driver+node)))
}

// UniqueVolumeName is how node status names a CSI volume
// (volumesInUse, volumesAttached).
func UniqueVolumeName(driver, handle string) corev1.UniqueVolumeName {
	return corev1.UniqueVolumeName(csiPlugin + driver + csiSep + handle)
}

// splitUniqueName returns the driver and handle of a CSI volume's
// unique name; ok is false for any other volume.
func splitUniqueName(name corev1.UniqueVolumeName) (driver, handle string, ok bool) {
	rest, ok := strings.CutPrefix(string(name), csiPlugin)
	if !ok {
		return "", "", false
	}
	return strings.Cut(rest, csiSep)
}

// Managed reports whether the controller manages n's attachments.
func Managed(n *corev1.Node) bool {
	return n != nil && n.Annotations[ManagedAnnotation] == "true"
}
