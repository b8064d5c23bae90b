package volume

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// persistentPath is the host path holding a persistent volume's data,
// for the sources a node serves without a cloud or a driver: local (a
// directory on the node) and hostPath (with its type checks). The
// runtime bind-mounts it into the containers, so nothing of the data
// lives in the pod's directory.
func persistentPath(pv *corev1.PersistentVolume) (string, error) {
	switch {
	case pv.Spec.Local != nil:
		return localPath(pv.Spec.Local.Path)
	case pv.Spec.HostPath != nil:
		return hostPath(pv.Spec.HostPath)
	}
	return "", fmt.Errorf("%s volumes are not supported by this kubelet", sourceType(pv))
}

// localPath checks a local volume's path: it must be an existing
// directory. A block device would have to be formatted and mounted,
// which this kubelet does not do.
func localPath(p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("LocalVolume path is empty")
	}
	if slices.Contains(strings.Split(filepath.ToSlash(p), "/"), "..") {
		return "", fmt.Errorf("invalid path: %s must not contain '..'", p)
	}
	fi, err := os.Stat(p)
	if os.IsNotExist(err) {
		return "", fmt.Errorf("mount failed: local volume path %s does not exist", p)
	}
	if err != nil {
		return "", fmt.Errorf("mount failed: %w", err)
	}
	switch {
	case fi.IsDir():
		return p, nil
	case fi.Mode()&os.ModeDevice != 0:
		return "", fmt.Errorf("local volume path %s is a block device: formatting and mounting devices is not supported by this kubelet", p)
	}
	return "", fmt.Errorf("mount failed: local volume path %s is not a directory", p)
}

// sourceType names a persistent volume's source as its spec field does.
func sourceType(pv *corev1.PersistentVolume) string {
	s := pv.Spec.PersistentVolumeSource
	for _, c := range []struct {
		set  bool
		name string
	}{
		{s.NFS != nil, "nfs"}, {s.ISCSI != nil, "iscsi"}, {s.CSI != nil, "csi"}, {s.FC != nil, "fc"},
		{s.RBD != nil, "rbd"}, {s.CephFS != nil, "cephfs"}, {s.Glusterfs != nil, "glusterfs"},
		{s.GCEPersistentDisk != nil, "gcePersistentDisk"}, {s.AWSElasticBlockStore != nil, "awsElasticBlockStore"},
		{s.AzureDisk != nil, "azureDisk"}, {s.AzureFile != nil, "azureFile"}, {s.Cinder != nil, "cinder"},
		{s.VsphereVolume != nil, "vsphereVolume"}, {s.FlexVolume != nil, "flexVolume"}, {s.Flocker != nil, "flocker"},
		{s.Quobyte != nil, "quobyte"}, {s.PortworxVolume != nil, "portworxVolume"}, {s.ScaleIO != nil, "scaleIO"},
		{s.StorageOS != nil, "storageos"}, {s.PhotonPersistentDisk != nil, "photonPersistentDisk"},
	} {
		if c.set {
			return c.name
		}
	}
	return "unknown"
}
