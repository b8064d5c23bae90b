package cluster

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/apiserver"
	"github.com/kemudi/kemudi/internal/registry/storage/storageclass"
)

// The default StorageClass kemudi server makes, as k3s ships local-path
// (provisioner rancher.io/local-path there): a directory on the node
// the scheduler picks for the claim's first pod.
const (
	LocalPathClass       = "local-path"
	LocalPathProvisioner = "kemudi.io/local-path"
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

// ensureLocalStorage creates the local-path class when it does not
// exist; one that does (the user's edits, or its deletion's replacement)
// is left as it is.
func ensureLocalStorage(ctx context.Context, api *apiserver.Server) error {
	if err := api.EnsureObjects(ctx, localPathStorageClass()); err != nil {
		return fmt.Errorf("create the %s storage class: %w", LocalPathClass, err)
	}
	return nil
}
