package csi

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/internal/kubelet/volume"
	"github.com/kemudi/kemudi/internal/kubelet/volume/csitest"
	"github.com/kemudi/kemudi/internal/registry/storage/volumeattachment"
)

func TestPaths(t *testing.T) {
	// Upstream's layout: the global mount path hashes the handle.
	if got, want := stagingPath("/var/lib/kubelet", "d.csi", "vol-1"), "/var/lib/kubelet/plugins/kubernetes.io/csi/d.csi/d2e8363faaac7ae76def3b14091d8eb5755f6b92e9531627aeec833a8731cc49/globalmount"; got != want {
		t.Errorf("stagingPath = %s, want %s", got, want)
	}
	if got := targetPath("/r", "uid1", "pv-1"); got != "/r/pods/uid1/volumes/kubernetes.io~csi/pv-1/mount" {
		t.Errorf("targetPath = %s", got)
	}
}

func TestAttachmentDecisions(t *testing.T) {
	src := &corev1.CSIPersistentVolumeSource{Driver: "d", VolumeHandle: "h"}
	for _, tc := range []struct {
		name     string
		driver   *storagev1.CSIDriver
		required bool
	}{
		{"no CSIDriver", nil, true},
		{"unset", &storagev1.CSIDriver{}, true},
		{"true", &storagev1.CSIDriver{Spec: storagev1.CSIDriverSpec{AttachRequired: ptr.To(true)}}, true},
		{"false", &storagev1.CSIDriver{Spec: storagev1.CSIDriverSpec{AttachRequired: ptr.To(false)}}, false},
	} {
		if got := attachRequired(tc.driver); got != tc.required {
			t.Errorf("%s: attachRequired = %v", tc.name, got)
		}
	}
	now := metav1.Now()
	for _, tc := range []struct {
		name    string
		va      storagev1.VolumeAttachment
		ctx     map[string]string
		errPart string
	}{
		{"attached", storagev1.VolumeAttachment{Status: storagev1.VolumeAttachmentStatus{Attached: true, AttachmentMetadata: map[string]string{"k": "v"}}}, map[string]string{"k": "v"}, ""},
		{"pending", storagev1.VolumeAttachment{}, nil, "not attached yet"},
		{"failed", storagev1.VolumeAttachment{Status: storagev1.VolumeAttachmentStatus{AttachError: &storagev1.VolumeError{Message: "no such disk"}}}, nil, "no such disk"},
		{"deleting", storagev1.VolumeAttachment{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now}, Status: storagev1.VolumeAttachmentStatus{Attached: true}}, nil, "being deleted"},
	} {
		got, err := attachmentStatus(&tc.va, src)
		if (tc.errPart == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.errPart)) || got["k"] != tc.ctx["k"] {
			t.Errorf("%s: got %v, %v", tc.name, got, err)
		}
	}
}

func TestRequests(t *testing.T) {
	pv := &corev1.PersistentVolume{Spec: corev1.PersistentVolumeSpec{
		AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}, MountOptions: []string{"noatime"},
		PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
			Driver: "d", VolumeHandle: "h", FSType: "ext4", ReadOnly: true, VolumeAttributes: map[string]string{"a": "1"}}}}}
	r := publishRequest(pv, "/s", "/t", false, map[string]string{"p": "1"}, merge(pv.Spec.CSI.VolumeAttributes, map[string]string{"b": "2"}), nil)
	if !r.Readonly || r.StagingTargetPath != "/s" || r.TargetPath != "/t" || r.VolumeId != "h" || r.PublishContext["p"] != "1" ||
		r.VolumeContext["a"] != "1" || r.VolumeContext["b"] != "2" || r.VolumeCapability.GetMount().GetFsType() != "ext4" ||
		r.VolumeCapability.GetMount().GetMountFlags()[0] != "noatime" || r.VolumeCapability.GetAccessMode().GetMode().String() != "MULTI_NODE_MULTI_WRITER" {
		t.Errorf("publish request %v", r)
	}
	for mode, want := range map[corev1.PersistentVolumeAccessMode]string{
		corev1.ReadWriteOnce: "SINGLE_NODE_WRITER", corev1.ReadOnlyMany: "MULTI_NODE_READER_ONLY", corev1.ReadWriteOncePod: "SINGLE_NODE_SINGLE_WRITER", "": "SINGLE_NODE_WRITER",
	} {
		p := pv.DeepCopy()
		p.Spec.AccessModes = nil
		if mode != "" {
			p.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{mode}
		}
		if got := accessMode(p).String(); got != want {
			t.Errorf("accessMode(%s) = %s, want %s", mode, got, want)
		}
	}
}

func TestOwnershipDue(t *testing.T) {
	pv := func(fsType string, modes ...corev1.PersistentVolumeAccessMode) *corev1.PersistentVolume {
		return &corev1.PersistentVolume{Spec: corev1.PersistentVolumeSpec{AccessModes: modes,
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{FSType: fsType}}}}
	}
	policy := func(p storagev1.FSGroupPolicy) *storagev1.CSIDriver {
		return &storagev1.CSIDriver{Spec: storagev1.CSIDriverSpec{FSGroupPolicy: &p}}
	}
	for _, tc := range []struct {
		name        string
		pv          *corev1.PersistentVolume
		driver      *storagev1.CSIDriver
		fsGroup, ro bool
		want        bool
	}{
		{"default, RWO with fsType", pv("ext4", corev1.ReadWriteOnce), nil, true, false, true},
		{"default, no fsType", pv("", corev1.ReadWriteOnce), nil, true, false, false},
		{"default, RWX", pv("ext4", corev1.ReadWriteMany), nil, true, false, false},
		{"no fsGroup", pv("ext4", corev1.ReadWriteOnce), nil, false, false, false},
		{"read-only", pv("ext4", corev1.ReadWriteOnce), nil, true, true, false},
		{"File", pv("", corev1.ReadWriteMany), policy(storagev1.FileFSGroupPolicy), true, false, true},
		{"None", pv("ext4", corev1.ReadWriteOnce), policy(storagev1.NoneFSGroupPolicy), true, false, false},
	} {
		if got := ownershipDue(tc.pv, tc.driver, tc.fsGroup, tc.ro); got != tc.want {
			t.Errorf("%s: ownershipDue = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestMounter: nothing is mounted before the node reports the volume in
// use; two pods share a staged volume (staged once, published
// twice); a driver's failure is the mount's error, and the next try
// succeeds; a kubelet started again still has the volumes in use and
// tears them down; the volume is unstaged only once the last pod went,
// and nothing stays mounted.
func TestMounter(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("bind mounts need root")
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "kubelet")
	d, err := csitest.Start(csitest.Config{Name: "d.csi", NodeID: "n1", DataDir: filepath.Join(dir, "data")}, filepath.Join(dir, "reg.sock"), filepath.Join(dir, "csi.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	t.Cleanup(func() { // whatever a failure left
		mps, _ := volume.MountsUnder(root)
		for _, mp := range mps {
			_ = unmount(mp)
		}
	})
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-1"}, Spec: corev1.PersistentVolumeSpec{
		PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "d.csi", VolumeHandle: "h1"}}}}
	va := &storagev1.VolumeAttachment{ObjectMeta: metav1.ObjectMeta{Name: volumeattachment.Name("h1", "d.csi", "node-1")}}
	client := fake.NewClientset(va)
	drivers := NewDrivers()
	m := NewMounter(root, "node-1", client, drivers, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	setUp := func(p *corev1.Pod, ro bool) (string, error) {
		path, _, err := m.SetUp(ctx, p, pv, ro)
		return path, err
	}
	pod := func(uid string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p-" + uid, Namespace: "default", UID: types.UID(uid)}}
	}

	_, err = setUp(pod("a"), false)
	if err == nil || !strings.Contains(err.Error(), "not found in the list of registered CSI drivers") {
		t.Fatalf("unregistered driver: %v", err)
	}
	drivers.add(Driver{Name: "d.csi", Endpoint: d.Endpoint})
	// Not in the node's volumesInUse yet: nothing is mounted.
	m.Reported = func(corev1.UniqueVolumeName) bool { return false }
	if _, err := setUp(pod("a"), false); err == nil || !strings.Contains(err.Error(), "VolumesInUse") {
		t.Fatalf("not reported in use: %v", err)
	}
	m.Reported = func(n corev1.UniqueVolumeName) bool { return n == volumeattachment.UniqueVolumeName("d.csi", "h1") }
	_, err = setUp(pod("a"), false)
	var op interface{ Operation() string }
	if !errors.As(err, &op) || op.Operation() != "WaitForAttach" {
		t.Fatalf("not attached: %v", err)
	}
	va.Status.Attached = true
	if _, err := client.StorageV1().VolumeAttachments().Update(ctx, va, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	d.FailNext("NodePublishVolume", "disk busy")
	if _, err := setUp(pod("a"), false); err == nil || !strings.Contains(err.Error(), "disk busy") || !errors.As(err, &op) || op.Operation() != "SetUp" {
		t.Fatalf("failed publish: %v", err)
	}
	pa, err := setUp(pod("a"), false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := setUp(pod("a"), false); err != nil { // a container's restart: nothing to do
		t.Fatal(err)
	}
	pb, err := setUp(pod("b"), true)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pa, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(pb, "f")); err != nil || string(b) != "x" {
		t.Fatalf("pod b sees %q, %v", b, err)
	}
	if got := d.Methods("h1"); !slices.Equal(got, []string{"NodeStageVolume", "NodePublishVolume", "NodePublishVolume"}) {
		t.Fatalf("calls %v", got)
	}

	// A kubelet started again knows the volumes from their directories:
	// they stay in use, and its teardown undoes them.
	m = NewMounter(root, "node-1", client, drivers, slog.New(slog.DiscardHandler))
	inUse := []corev1.UniqueVolumeName{volumeattachment.UniqueVolumeName("d.csi", "h1")}
	if got := slices.Compact(m.InUse()); !slices.Equal(got, inUse) {
		t.Errorf("in use after a restart: %v", got)
	}
	if err := m.TearDown(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if got := d.Methods("h1"); got[len(got)-1] != "NodeUnpublishVolume" {
		t.Fatalf("pod b still uses the volume, but: %v", got)
	}
	d.FailNext("NodeUnpublishVolume", "still busy")
	if err := m.TearDown(ctx, "b"); err == nil || !strings.Contains(err.Error(), "still busy") {
		t.Fatalf("failed unpublish: %v", err)
	}
	if err := m.TearDown(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if got := d.Methods("h1"); !slices.Equal(got[len(got)-2:], []string{"NodeUnpublishVolume", "NodeUnstageVolume"}) {
		t.Fatalf("calls %v", got)
	}
	if mps, err := volume.MountsUnder(root); err != nil || len(mps) != 0 {
		t.Fatalf("still mounted: %v %v", mps, err)
	}
	if got := m.InUse(); len(got) != 0 {
		t.Errorf("in use after the last pod: %v", got)
	}
	if _, err := os.Stat(filepath.Join(root, "pods", "a", "volumes", PluginDir, "pv-1")); !os.IsNotExist(err) {
		t.Errorf("pod a's volume dir is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(d.VolumeDir("h1"), "f")); err != nil {
		t.Errorf("the data went: %v", err)
	}
}

func unmount(p string) error { return unix.Unmount(p, unix.MNT_DETACH) }
