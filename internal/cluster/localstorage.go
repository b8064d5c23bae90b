package cluster

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/internal/apiserver"
	"github.com/kemudi/kemudi/internal/cloud/localpath"
	"github.com/kemudi/kemudi/internal/registry/storage/storageclass"
	"github.com/kemudi/kemudi/internal/scheduler/plugins/volumebinding"
)

// The default StorageClass kemudi server makes, as k3s ships local-path
// (provisioner rancher.io/local-path there): a directory on the node
// the scheduler picks for the claim's first pod. The provisioner's name
// cannot name a CSIDriver object (no "/" in those): its driver is
// LocalPathDriver, which the scheduler reads for it.
const (
	LocalPathClass       = "local-path"
	LocalPathProvisioner = localpath.Provisioner
	LocalPathDriver      = volumebinding.LocalPathDriver
)

// localPathStorageClass is the default class: WaitForFirstConsumer, so
// the volume is made on the node its first pod runs on, and Delete, so
// the directory goes with its claim.
func localPathStorageClass() *storagev1.StorageClass {
	reclaim := corev1.PersistentVolumeReclaimDelete
	mode := storagev1.VolumeBindingWaitForFirstConsumer
	return &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{
			Name:        LocalPathClass,
			Annotations: map[string]string{storageclass.IsDefaultAnnotation: "true"},
		},
		Provisioner:       LocalPathProvisioner,
		ReclaimPolicy:     &reclaim,
		VolumeBindingMode: &mode,
	}
}

// localPathDriver is the CSIDriver object of the provisioner, as a CSI
// driver's deployment ships one: nothing to attach, persistent volumes
// only, and storage capacity tracking on, so that the scheduler places
// claims only on nodes whose published free space holds them (the
// agents' provisioners publish it).
func localPathDriver() *storagev1.CSIDriver {
	return &storagev1.CSIDriver{
		ObjectMeta: metav1.ObjectMeta{Name: LocalPathDriver},
		Spec: storagev1.CSIDriverSpec{
			AttachRequired:       ptr.To(false),
			PodInfoOnMount:       ptr.To(false),
			StorageCapacity:      ptr.To(true),
			VolumeLifecycleModes: []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecyclePersistent},
		},
	}
}

// ensureLocalStorage creates the local-path class and its driver when
// they do not exist; those that do (the user's edits, or a deletion's
// replacement) are left as they are.
func ensureLocalStorage(ctx context.Context, api *apiserver.Server) error {
	if err := api.EnsureObjects(ctx, localPathStorageClass(), localPathDriver()); err != nil {
		return fmt.Errorf("create the %s storage class and driver: %w", LocalPathClass, err)
	}
	return nil
}
