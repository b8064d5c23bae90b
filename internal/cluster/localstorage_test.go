package cluster_test

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/cluster"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// TestLocalPathClass: the server makes the default StorageClass
// local-path as k3s ships it, and its CSIDriver (nothing to attach,
// capacity tracked); a user's change survives a restart, a deleted class
// comes back at the next start, and with local storage off there is none.
func TestLocalPathClass(t *testing.T) {
	s := clustertest.Start(t, func(o *cluster.ServerOptions) { o.LocalStorage = true })
	ctx := context.Background()
	classes := s.Client.StorageV1().StorageClasses()
	sc, err := classes.Get(ctx, "local-path", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sc.Provisioner != "kemudi.io/local-path" || *sc.VolumeBindingMode != storagev1.VolumeBindingWaitForFirstConsumer ||
		*sc.ReclaimPolicy != corev1.PersistentVolumeReclaimDelete || sc.Annotations["storageclass.kubernetes.io/is-default-class"] != "true" {
		t.Fatalf("local-path = %+v", sc)
	}
	if out := s.MustKubectl("get", "storageclass"); !containsAll(out, "local-path (default)", "kemudi.io/local-path", "Delete", "WaitForFirstConsumer") {
		t.Errorf("kubectl get storageclass:\n%s", out)
	}
	d, err := s.Client.StorageV1().CSIDrivers().Get(ctx, "local-path.kemudi.io", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *d.Spec.AttachRequired || !*d.Spec.StorageCapacity || len(d.Spec.VolumeLifecycleModes) != 1 || d.Spec.VolumeLifecycleModes[0] != storagev1.VolumeLifecyclePersistent {
		t.Errorf("driver local-path.kemudi.io = %+v", d.Spec)
	}

	// The user makes it no longer the default: a restart leaves it so.
	sc.Annotations["storageclass.kubernetes.io/is-default-class"] = "false"
	if _, err := classes.Update(ctx, sc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Restart()
	if sc, err := classes.Get(ctx, "local-path", metav1.GetOptions{}); err != nil || sc.Annotations["storageclass.kubernetes.io/is-default-class"] != "false" {
		t.Fatalf("after a restart: %v %v", sc.Annotations, err)
	}
	// Deleted, it is back at the next start.
	if err := classes.Delete(ctx, "local-path", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Restart()
	if _, err := classes.Get(ctx, "local-path", metav1.GetOptions{}); err != nil {
		t.Fatalf("after deletion and a restart: %v", err)
	}

	// Off (--disable local-storage): none.
	off := clustertest.Start(t)
	if _, err := off.Client.StorageV1().StorageClasses().Get(ctx, "local-path", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("local storage off, yet local-path: %v", err)
	}
	if _, err := off.Client.StorageV1().CSIDrivers().Get(ctx, "local-path.kemudi.io", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("local storage off, yet its driver: %v", err)
	}
}

func containsAll(out string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(out, p) {
			return false
		}
	}
	return true
}
