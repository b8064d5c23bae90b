package kubelet_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/internal/cloud"
	"github.com/kemudi/kemudi/internal/cloud/cloudtest"
	"github.com/kemudi/kemudi/internal/cloud/fakecloud"
	adt "github.com/kemudi/kemudi/internal/controller/attachdetach/attachdetachtest"
	"github.com/kemudi/kemudi/internal/kubelet"
	"github.com/kemudi/kemudi/internal/kubelet/volume"
	"github.com/kemudi/kemudi/internal/kubelet/volume/csitest"
	"github.com/kemudi/kemudi/internal/registry/storage/volumeattachment"
)

// TestCSIVolumeInUse: a CSI driver registers through the kubelet's
// plugins registry and is listed in the node's CSINode. A pod's CSI
// volume is in the node's volumesInUse while the pod is there; it
// waits for the attachment (FailedMount), is staged and published by
// the driver, and the pod's file lands in the driver's volume. Once the
// pod is gone (torn down by a kubelet started again meanwhile, which
// kept it in use) the volume is unpublished and unstaged, nothing stays
// mounted, the kubelet drops it and the controller detaches it.
func TestCSIVolumeInUse(t *testing.T) {
	// The status written again without a change every 2 s: the check
	// after the restart waits for one written at least a second after it
	// (heartbeats are kept to the second).
	n := startNodeWith(t, "kemudi", func(o *kubelet.Options) { o.StatusReportInterval = 2 * time.Second })
	ctx := context.Background()
	const driver, handle = "disk.csi.test", "vol-1"
	root := filepath.Join(n.rt.Dir, "kubelet")
	d := startCSIDriver(t, n, driver)
	nd, err := n.c.CoreV1().Nodes().Get(ctx, n.name, metav1.GetOptions{})
	if err != nil || nd.Annotations["csi.volume.kubernetes.io/nodeid"] != `{"disk.csi.test":"node-1-disk.csi.test"}` {
		t.Fatalf("node annotations %v, %v", nd.Annotations, err)
	}

	// The driver wants pod info and leaves fsGroup to the kubelet; attach
	// stays required.
	if _, err := n.c.StorageV1().CSIDrivers().Create(ctx, &storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: driver}, Spec: storagev1.CSIDriverSpec{
		AttachRequired: ptr.To(true), PodInfoOnMount: ptr.To(true), FSGroupPolicy: ptr.To(storagev1.FileFSGroupPolicy)}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	name := volumeattachment.UniqueVolumeName(driver, handle)
	adt.BoundClaim(t, n.c, "data", "pv-disk", driver, handle)
	// The pod stays up (the volume published) until deleted.
	p := volumePod(n, "disk-user", n.rt.Images["busybox"], false, "trap 'exit 0' TERM; echo hello from $POD > /data/hello; while true; do sleep 1; done")
	p, err = n.c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inUse := func(want bool) {
		t.Helper()
		until(t, "volumesInUse", timeout, func(ctx context.Context) (bool, error) {
			nd, err := n.c.CoreV1().Nodes().Get(ctx, n.name, metav1.GetOptions{})
			return err == nil && slices.Contains(nd.Status.VolumesInUse, name) == want, err
		})
	}
	inUse(true)
	// Attach is required: the kubelet waits.
	waitEvent(t, n, "disk-user", "FailedMount", `MountVolume.WaitForAttach failed for volume "pv-disk"`)

	// The controller asked for the attachment; the test attaches.
	va := adt.WaitAttachment(t, n.c, "the attachment", handle, driver, n.name, func(*storagev1.VolumeAttachment) bool { return true })
	va.Status.Attached = true
	va.Status.AttachmentMetadata = map[string]string{"devicePath": "/dev/test-vol-1"}
	if _, err := n.c.StorageV1().VolumeAttachments().UpdateStatus(ctx, va, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	adt.WaitListed(t, n.c, n.name, name)
	until(t, "the pod's file in the driver's volume", timeout, func(context.Context) (bool, error) {
		b, err := os.ReadFile(filepath.Join(d.VolumeDir(handle), "hello"))
		if err != nil || string(b) != "hello from disk-user\n" {
			return false, fmt.Errorf("the driver's volume has %q, %v", b, err)
		}
		return true, nil
	})
	// fsGroupPolicy File: the pod's fsGroup owns the volume.
	if fi, err := os.Stat(filepath.Join(d.VolumeDir(handle), "hello")); err != nil || fi.Sys().(*syscall.Stat_t).Gid != 2000 {
		t.Errorf("the pod's file is not its fsGroup's: %v", err)
	}
	calls := d.Calls()
	if len(calls) != 2 || calls[0].Method != "NodeStageVolume" || calls[1].Method != "NodePublishVolume" {
		t.Fatalf("driver calls %+v", calls)
	}
	stage, pub := calls[0], calls[1]
	wantTarget := filepath.Join(root, "pods", string(p.UID), "volumes", "kubernetes.io~csi", "pv-disk", "mount")
	if pub.Path != wantTarget || pub.StagingPath != stage.Path || !strings.HasPrefix(stage.Path, filepath.Join(root, "plugins", "kubernetes.io", "csi", driver)+"/") ||
		stage.PublishContext["devicePath"] != "/dev/test-vol-1" || pub.PublishContext["devicePath"] != "/dev/test-vol-1" ||
		pub.VolumeContext["csi.storage.k8s.io/pod.name"] != "disk-user" || pub.VolumeContext["csi.storage.k8s.io/pod.uid"] != string(p.UID) {
		t.Errorf("stage %+v, publish %+v (target want %s)", stage, pub, wantTarget)
	}

	// A kubelet started again finds the published volume on disk: it
	// stays in use (its fresh node status says so) and is torn down.
	n.stop()
	restarted := time.Now()
	n.start(t)
	until(t, "volumesInUse after the restart", timeout, func(ctx context.Context) (bool, error) {
		nd, err := n.c.CoreV1().Nodes().Get(ctx, n.name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range nd.Status.Conditions {
			if c.Type == corev1.NodeReady && c.LastHeartbeatTime.After(restarted.Add(time.Second)) {
				return slices.Contains(nd.Status.VolumesInUse, name), nil
			}
		}
		return false, nil
	})

	if err := n.c.CoreV1().Pods("default").Delete(ctx, "disk-user", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	inUse(false)
	// The kubelet started again may publish once more (idempotent, as
	// upstream's after it reconstructs a volume); never stage again.
	if got := d.Methods(handle); !slices.Equal(slices.Compact(got), []string{"NodeStageVolume", "NodePublishVolume", "NodeUnpublishVolume", "NodeUnstageVolume"}) {
		t.Errorf("driver calls %v", got)
	}
	if mps, err := volume.MountsUnder(root); err != nil || len(mps) != 0 {
		t.Errorf("still mounted under the kubelet's root: %v %v", mps, err)
	}
	adt.WaitDetached(t, n.c, handle, driver, n.name)
	adt.WaitListed(t, n.c, n.name, []corev1.UniqueVolumeName{}...)

	d.Stop()
	until(t, "driver gone from CSINode", timeout, func(ctx context.Context) (bool, error) {
		cn, err := n.c.StorageV1().CSINodes().Get(ctx, n.name, metav1.GetOptions{})
		return err == nil && len(cn.Spec.Drivers) == 0, err
	})
}

// startCSIDriver starts csitest's driver in the node's plugins registry
// and waits for its CSINode entry.
func startCSIDriver(t *testing.T, n *node, driver string) *csitest.Driver {
	t.Helper()
	root := filepath.Join(n.rt.Dir, "kubelet")
	nodeID := n.name + "-" + driver
	d, err := csitest.Start(csitest.Config{Name: driver, NodeID: nodeID, MaxVolumes: 4, DataDir: filepath.Join(n.rt.Dir, "csi-data")},
		filepath.Join(volume.PluginsRegistryDir(root), driver+"-reg.sock"), filepath.Join(n.rt.Dir, "csi", driver+".sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	until(t, "driver in CSINode", timeout, func(ctx context.Context) (bool, error) {
		cn, err := n.c.StorageV1().CSINodes().Get(ctx, n.name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		i := slices.IndexFunc(cn.Spec.Drivers, func(x storagev1.CSINodeDriver) bool { return x.Name == driver })
		if i < 0 || cn.Spec.Drivers[i].NodeID != nodeID || cn.Spec.Drivers[i].Allocatable == nil || *cn.Spec.Drivers[i].Allocatable.Count != 4 {
			return false, fmt.Errorf("drivers %+v", cn.Spec.Drivers)
		}
		return true, nil
	})
	return d
}

// TestCSIVolumeCloudAttach: the whole chain with the fake cloud's
// csi-attacher: the cloud attaches the disk to the node's machine, the
// kubelet stages it with the cloud's device path and publishes it, the
// pod writes to it; once the pod ended (its object still there) the
// kubelet unpublishes and unstages it and the cloud detaches it.
func TestCSIVolumeCloudAttach(t *testing.T) {
	n := startNode(t, "kemudi")
	ctx := context.Background()
	driver := fakecloud.CSIDriver
	fake := fakecloud.New()
	fake.AddInstance(n.name, fakecloud.Instance{Type: "m5.large", Zone: "zone-a"})
	fake.CreateDisk("disk-1")
	cloudtest.Run(t, n.s.Config, fake, func(o *cloud.Options) { o.Controllers = []string{cloud.CSIAttacher} })
	d := startCSIDriver(t, n, driver)

	adt.BoundClaim(t, n.c, "data", "pv-disk", driver, "disk-1")
	p := volumePod(n, "disk-user", n.rt.Images["busybox"], false, "echo from the cloud > /data/hello")
	if _, err := n.c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := waitDone(t, n, "disk-user"); got.Status.Phase != corev1.PodSucceeded {
		t.Fatalf("pod %s: %+v", got.Status.Phase, terminated(got))
	}
	if on := fake.AttachedTo("disk-1"); on != n.name {
		t.Errorf("disk-1 attached to %q in the cloud, want %s", on, n.name)
	}
	if b, err := os.ReadFile(filepath.Join(d.VolumeDir("disk-1"), "hello")); err != nil || string(b) != "from the cloud\n" {
		t.Errorf("the driver's volume has %q, %v", b, err)
	}
	if calls := d.Calls(); len(calls) < 1 || calls[0].Method != "NodeStageVolume" || calls[0].PublishContext["devicePath"] != "/dev/disk/by-id/fake-disk-1" {
		t.Errorf("driver calls %+v", calls)
	}

	// The pod ended: its volume is unpublished and unstaged and the disk
	// detached while the pod object stays, as upstream.
	adt.WaitDetached(t, n.c, "disk-1", driver, n.name)
	if got := d.Methods("disk-1"); !slices.Equal(got, []string{"NodeStageVolume", "NodePublishVolume", "NodeUnpublishVolume", "NodeUnstageVolume"}) {
		t.Errorf("driver calls %v", got)
	}
	until(t, "disk-1 detached in the cloud", timeout, func(context.Context) (bool, error) { return fake.AttachedTo("disk-1") == "", nil })
	if _, err := n.c.CoreV1().Pods("default").Get(ctx, "disk-user", metav1.GetOptions{}); err != nil {
		t.Fatalf("the ended pod: %v", err)
	}
	if err := n.c.CoreV1().Pods("default").Delete(ctx, "disk-user", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	until(t, "the pod gone", timeout, func(ctx context.Context) (bool, error) {
		_, err := n.c.CoreV1().Pods("default").Get(ctx, "disk-user", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if got := d.Methods("disk-1"); len(got) != 4 {
		t.Errorf("driver calls after the pod went: %v", got)
	}
}
