package csiattacher_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	storagev1 "k8s.io/api/storage/v1"

	"github.com/kemudi/kemudi/internal/cloud"
	"github.com/kemudi/kemudi/internal/cloud/cloudtest"
	"github.com/kemudi/kemudi/internal/cloud/csiattacher"
	"github.com/kemudi/kemudi/internal/cloud/fakecloud"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller/attachdetach"
	adt "github.com/kemudi/kemudi/internal/controller/attachdetach/attachdetachtest"
	"github.com/kemudi/kemudi/internal/controller/manager"
	"github.com/kemudi/kemudi/internal/registry/storage/volumeattachment"
	"github.com/kemudi/kemudi/internal/simnode"
	"github.com/kemudi/kemudi/internal/simnode/simnodetest"
)

const driver = fakecloud.CSIDriver

func TestFinalizer(t *testing.T) {
	for in, want := range map[string]string{
		"disk.fake.csi.kemudi.io": "external-attacher/disk-fake-csi-kemudi-io",
		"example.com/disk_":       "external-attacher/example-com-disk-X",
	} {
		if got := csiattacher.Finalizer(in); got != want {
			t.Errorf("Finalizer(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestFakeCloudAttaches: a pod's volume on the fake cloud's disk is
// attached to its node's machine through a VolumeAttachment (kubectl
// shows it, the node status lists it), a cloud error is told on the
// attachment and as an event on the pod until the cloud recovers, and
// the disk is detached once the pod is gone and the kubelet unmounted it.
func TestFakeCloudAttaches(t *testing.T) {
	s := clustertest.Start(t)
	nodes := simnodetest.Start(t, s.Config, simnode.Options{Count: 2})
	fake := fakecloud.New()
	for _, n := range nodes.Names() {
		fake.AddInstance(n, fakecloud.Instance{Type: "m5.large", Zone: "zone-a"})
	}
	fake.CreateDisk("disk-1")
	fake.CreateDisk("disk-2")
	cloudtest.Run(t, s.Config, fake, func(o *cloud.Options) { o.Controllers = []string{cloud.CSIAttacher} })
	s.RunControllerManager(func(o *manager.Options) { o.Controllers = []string{attachdetach.Name} })
	c := s.Client
	web, logger := nodes.Names()[0], nodes.Names()[1]

	adt.BoundClaim(t, c, "data", "pv-1", driver, "disk-1")
	adt.Pod(t, c, "web", web, "data")
	va := adt.WaitAttachment(t, c, "disk-1 attached", "disk-1", driver, web, func(va *storagev1.VolumeAttachment) bool { return va.Status.Attached })
	if va.Status.AttachmentMetadata["devicePath"] != "/dev/disk/by-id/fake-disk-1" || !slices.Contains(va.Finalizers, csiattacher.Finalizer(driver)) {
		t.Errorf("attachment metadata %v, finalizers %v", va.Status.AttachmentMetadata, va.Finalizers)
	}
	if on := fake.AttachedTo("disk-1"); on != web {
		t.Errorf("disk-1 attached to %q in the cloud, want %s", on, web)
	}
	name := volumeattachment.UniqueVolumeName(driver, "disk-1")
	adt.WaitListed(t, c, web, name)
	out := s.MustKubectl("get", "volumeattachments")
	if h := strings.Join(strings.Fields(strings.SplitN(out, "\n", 2)[0]), " "); h != "NAME ATTACHER PV NODE ATTACHED AGE" {
		t.Errorf("kubectl get volumeattachments header %q", h)
	}
	if !strings.Contains(strings.Join(strings.Fields(out), " "), va.Name+" "+driver+" pv-1 "+web+" true") {
		t.Errorf("kubectl get volumeattachments:\n%s", out)
	}

	// The cloud refuses: the attachment and the pod say why, until it
	// recovers.
	fake.FailAttach(errors.New("disk quota exceeded in zone-a"))
	adt.BoundClaim(t, c, "logs", "pv-2", driver, "disk-2")
	adt.Pod(t, c, "logger", logger, "logs")
	adt.WaitAttachment(t, c, "the attach error reported", "disk-2", driver, logger, func(va *storagev1.VolumeAttachment) bool {
		e := va.Status.AttachError
		return e != nil && e.Message == "disk quota exceeded in zone-a" && !e.Time.IsZero() && !va.Status.Attached
	})
	adt.WaitEvent(t, c, "logger", "FailedAttachVolume", `AttachVolume.Attach failed for volume "pv-2" : disk quota exceeded in zone-a`)
	fake.FailAttach(nil)
	adt.WaitAttachment(t, c, "disk-2 attached once the cloud recovers", "disk-2", driver, logger, func(va *storagev1.VolumeAttachment) bool {
		return va.Status.Attached && va.Status.AttachError == nil
	})

	// The pod goes; the disk stays attached while the kubelet uses it.
	adt.SetInUse(t, c, web, name)
	adt.DeletePod(t, c, "web")
	adt.WaitAttachment(t, c, "disk-1 kept while in use", "disk-1", driver, web, func(va *storagev1.VolumeAttachment) bool { return va.DeletionTimestamp == nil })
	adt.SetInUse(t, c, web)
	adt.WaitDetached(t, c, "disk-1", driver, web)
	adt.WaitListed(t, c, web)
	if on := fake.AttachedTo("disk-1"); on != "" {
		t.Errorf("disk-1 still attached to %s in the cloud", on)
	}
	if got := fake.Disks(); !slices.Equal(got, []string{"disk-1", "disk-2 " + logger}) {
		t.Errorf("cloud disks %v", got)
	}
}
