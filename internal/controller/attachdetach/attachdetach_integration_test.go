package attachdetach_test

import (
	"context"
	"testing"
	"time"

	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller/attachdetach"
	adt "github.com/kemudi/kemudi/internal/controller/attachdetach/attachdetachtest"
	"github.com/kemudi/kemudi/internal/controller/manager"
	"github.com/kemudi/kemudi/internal/registry/storage/volumeattachment"
	"github.com/kemudi/kemudi/internal/simnode"
	"github.com/kemudi/kemudi/internal/simnode/simnodetest"
)

const (
	disk     = "disk.csi.test"
	nfs      = "nfs.csi.test"
	maxWait  = 2 * time.Second
	nodeA    = "node-0000"
	nodeB    = "node-0001"
	handleA  = "vol-a"
	handleB  = "vol-b"
	handleNF = "share-1"
)

// start runs a control plane whose only controller is the attach/detach
// controller, as its own service account (its RBAC role exercised), with
// two simulated nodes.
func start(t *testing.T) (kubernetes.Interface, *simnode.Nodes) {
	s := clustertest.Start(t)
	s.RunControllerManager(func(o *manager.Options) {
		o.Controllers = []string{attachdetach.Name}
		o.Controller.MaxWaitForUnmount = maxWait
	})
	return s.Client, simnodetest.Start(t, s.Config, simnode.Options{Count: 2})
}

// markAttached answers an attachment as a driver's external attacher.
func markAttached(t *testing.T, c kubernetes.Interface, va *storagev1.VolumeAttachment) {
	t.Helper()
	va = va.DeepCopy()
	va.Status.Attached = true
	va.Status.AttachmentMetadata = map[string]string{"devicePath": "/dev/vdb"}
	if _, err := c.StorageV1().VolumeAttachments().UpdateStatus(context.Background(), va, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestAttachDetach: a pod's CSI volume is attached to its node (a
// VolumeAttachment the driver answers; the node status lists it), a
// driver that needs no attaching gets none, and once the pod is gone the
// volume is detached when the kubelet says it unmounted it.
func TestAttachDetach(t *testing.T) {
	c, _ := start(t)
	ctx := context.Background()
	if _, err := c.StorageV1().CSIDrivers().Create(ctx, &storagev1.CSIDriver{
		ObjectMeta: metav1.ObjectMeta{Name: nfs}, Spec: storagev1.CSIDriverSpec{AttachRequired: ptr.To(false)},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	adt.BoundClaim(t, c, "data", "pv-a", disk, handleA)
	adt.BoundClaim(t, c, "share", "pv-nfs", nfs, handleNF)
	adt.Pod(t, c, "web", nodeA, "data", "share")

	va := adt.WaitAttachment(t, c, "an attachment of pv-a to "+nodeA, handleA, disk, nodeA, func(*storagev1.VolumeAttachment) bool { return true })
	if va.Spec.Attacher != disk || va.Spec.NodeName != nodeA || ptr.Deref(va.Spec.Source.PersistentVolumeName, "") != "pv-a" {
		t.Fatalf("attachment spec %+v", va.Spec)
	}
	// Both volumes were decided together: the one whose driver needs no
	// attaching has none.
	if _, err := c.StorageV1().VolumeAttachments().Get(ctx, volumeattachment.Name(handleNF, nfs, nodeA), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("attachment for a driver with attachRequired false: %v", err)
	}
	name := volumeattachment.UniqueVolumeName(disk, handleA)
	markAttached(t, c, va)
	adt.WaitListed(t, c, nodeA, name)
	adt.WaitEvent(t, c, "web", attachdetach.ReasonSuccessfulAttach, `AttachVolume.Attach succeeded for volume "pv-a"`)

	// The kubelet mounted it; the pod goes: still attached while in use.
	adt.SetInUse(t, c, nodeA, name)
	adt.DeletePod(t, c, "web")
	adt.WaitAttachment(t, c, "the attachment kept while the volume is in use", handleA, disk, nodeA, func(va *storagev1.VolumeAttachment) bool {
		return va.DeletionTimestamp == nil
	})
	adt.SetInUse(t, c, nodeA)
	adt.WaitListed(t, c, nodeA)
	adt.WaitDetached(t, c, handleA, disk, nodeA)
}

// TestDetachFromNotReadyNode: a volume still in use on a node that is
// not Ready is detached after MaxWaitForUnmount, as upstream does for a
// node that died with its pods.
func TestDetachFromNotReadyNode(t *testing.T) {
	c, nodes := start(t)
	adt.BoundClaim(t, c, "data", "pv-b", disk, handleB)
	adt.Pod(t, c, "db", nodeB, "data")
	va := adt.WaitAttachment(t, c, "an attachment of pv-b", handleB, disk, nodeB, func(*storagev1.VolumeAttachment) bool { return true })
	markAttached(t, c, va)
	name := volumeattachment.UniqueVolumeName(disk, handleB)
	adt.WaitListed(t, c, nodeB, name)
	adt.SetInUse(t, c, nodeB, name)

	if err := nodes.SetReady(nodeB, false); err != nil {
		t.Fatal(err)
	}
	deleted := time.Now()
	adt.DeletePod(t, c, "db")
	adt.WaitDetached(t, c, handleB, disk, nodeB)
	if waited := time.Since(deleted); waited < maxWait-500*time.Millisecond {
		t.Errorf("detached after %v, before the %v wait for unmount", waited, maxWait)
	}
}
