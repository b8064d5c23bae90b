package volumeattachment

import (
	"crypto/sha256"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// csiPlugin prefixes the unique name of a CSI volume, and csiSep
// separates its driver from its handle, as upstream's CSI plugin names
// them.
const (
	csiPlugin = "kubernetes.io/csi/"
	csiSep    = "^"
)

// Name is the VolumeAttachment of a CSI volume on a node, as upstream's
// CSI attacher names it (so that either finds the other's).
func Name(handle, driver, node string) string {
	return fmt.Sprintf("csi-%x", sha256.Sum256([]byte(handle+driver+node)))
}

// UniqueVolumeName is how node status names a CSI volume (the kubelet's
// volumesInUse, the attach/detach controller's volumesAttached).
func UniqueVolumeName(driver, handle string) corev1.UniqueVolumeName {
	return corev1.UniqueVolumeName(csiPlugin + driver + csiSep + handle)
}

// SplitUniqueName returns the driver and handle of a CSI volume's unique
// name; ok is false for any other volume.
func SplitUniqueName(name corev1.UniqueVolumeName) (driver, handle string, ok bool) {
	rest, ok := strings.CutPrefix(string(name), csiPlugin)
	if !ok {
		return "", "", false
	}
	return strings.Cut(rest, csiSep)
}
