package kubelet_test

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	adt "github.com/kemudi/kemudi/internal/controller/attachdetach/attachdetachtest"
	"github.com/kemudi/kemudi/internal/registry/storage/volumeattachment"
)

// TestCSIVolumeInUse: a pod's CSI volume (which this kubelet cannot
// mount: FailedMount) is in the node's volumesInUse while the pod is
// there, so the attach/detach controller keeps it attached; once the pod
// is gone the kubelet drops it and the controller detaches the volume.
func TestCSIVolumeInUse(t *testing.T) {
	n := startNode(t, "kemudi")
	ctx := context.Background()
	const driver, handle = "disk.csi.test", "vol-1"
	name := volumeattachment.UniqueVolumeName(driver, handle)
	adt.BoundClaim(t, n.c, "data", "pv-disk", driver, handle)
	if _, err := n.c.CoreV1().Pods("default").Create(ctx, volumePod(n, "disk-user", n.rt.Images["busybox"], false, "true"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, n, "disk-user", "FailedMount", "csi volumes are not supported by this kubelet")
	inUse := func(want bool) {
		t.Helper()
		until(t, "volumesInUse", timeout, func(ctx context.Context) (bool, error) {
			nd, err := n.c.CoreV1().Nodes().Get(ctx, n.name, metav1.GetOptions{})
			return err == nil && slices.Contains(nd.Status.VolumesInUse, name) == want, err
		})
	}
	inUse(true)

	// The controller asked for the attachment; the driver answers.
	va := adt.WaitAttachment(t, n.c, "the attachment", handle, driver, n.name, func(*storagev1.VolumeAttachment) bool { return true })
	va.Status.Attached = true
	if _, err := n.c.StorageV1().VolumeAttachments().UpdateStatus(ctx, va, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	adt.WaitListed(t, n.c, n.name, name)

	if err := n.c.CoreV1().Pods("default").Delete(ctx, "disk-user", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	inUse(false)
	adt.WaitDetached(t, n.c, handle, driver, n.name)
	adt.WaitListed(t, n.c, n.name, []corev1.UniqueVolumeName{}...)
}
