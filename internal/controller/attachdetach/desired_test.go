package attachdetach

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/internal/registry/storage/volumeattachment"
)

type objects struct {
	claims  map[string]*corev1.PersistentVolumeClaim
	volumes map[string]*corev1.PersistentVolume
	drivers map[string]*storagev1.CSIDriver
}

func (o objects) Claim(ns, name string) *corev1.PersistentVolumeClaim { return o.claims[ns+"/"+name] }
func (o objects) PersistentVolume(name string) *corev1.PersistentVolume {
	return o.volumes[name]
}
func (o objects) Driver(name string) *storagev1.CSIDriver { return o.drivers[name] }

// bound adds a claim bound to a CSI volume of driver.
func (o objects) bound(claim, driver, handle string, modes ...corev1.PersistentVolumeAccessMode) {
	uid := types.UID("uid-" + claim)
	o.claims["default/"+claim] = &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: claim, UID: uid},
		Spec:       corev1.PersistentVolumeClaimSpec{VolumeName: "pv-" + handle},
		Status:     corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound},
	}
	o.volumes["pv-"+handle] = &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv-" + handle},
		Spec: corev1.PersistentVolumeSpec{
			AccessModes:            modes,
			ClaimRef:               &corev1.ObjectReference{Namespace: "default", Name: claim, UID: uid},
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: driver, VolumeHandle: handle}},
		},
	}
}

func usingClaims(name string, claims ...string) *corev1.Pod {
	p := pod(name)
	for _, c := range claims {
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: c, VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c}}})
	}
	return p
}

func TestDesired(t *testing.T) {
	o := objects{claims: map[string]*corev1.PersistentVolumeClaim{}, volumes: map[string]*corev1.PersistentVolume{}, drivers: map[string]*storagev1.CSIDriver{}}
	o.bound("data", drv, "a", corev1.ReadWriteOnce)
	o.bound("shared", drv, "b", corev1.ReadWriteMany)
	o.bound("nfs", "nfs.csi.fake", "c")
	o.drivers["nfs.csi.fake"] = &storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: "nfs.csi.fake"}, Spec: storagev1.CSIDriverSpec{AttachRequired: ptr.To(false)}}
	o.bound("explicit", "block.csi.fake", "d")
	o.drivers["block.csi.fake"] = &storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: "block.csi.fake"}, Spec: storagev1.CSIDriverSpec{AttachRequired: ptr.To(true)}}
	o.claims["default/pending"] = &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "pending"}}
	o.bound("stolen", drv, "e")
	o.volumes["pv-e"].Spec.ClaimRef.UID = "someone-else"
	o.bound("hostpath", drv, "f")
	o.volumes["pv-f"].Spec.CSI, o.volumes["pv-f"].Spec.HostPath = nil, &corev1.HostPathVolumeSource{Path: "/x"}

	web := usingClaims("web", "data", "shared", "nfs", "explicit", "pending", "stolen", "hostpath", "missing")
	web.Spec.Volumes = append(web.Spec.Volumes, corev1.Volume{Name: "inline", VolumeSource: corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: drv}}})
	db := usingClaims("db", "data")
	done := usingClaims("done", "explicit")
	done.Status.Phase = corev1.PodSucceeded
	gone := usingClaims("gone", "explicit")
	gone.DeletionTimestamp = &metav1.Time{}
	running := usingClaims("running", "explicit")
	running.DeletionTimestamp = &metav1.Time{}
	running.Status.ContainerStatuses = []corev1.ContainerStatus{{State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}

	got := Desired([]*corev1.Pod{web, db, done, gone, running}, o)
	want := []struct {
		handle string
		multi  bool
		pods   []string
	}{
		{"d", true, []string{"web", "running"}}, // block.csi.fake sorts first
		{"a", false, []string{"web", "db"}},
		{"b", true, []string{"web"}},
	}
	if len(got) != len(want) {
		var handles []string
		for _, g := range got {
			handles = append(handles, g.Handle)
		}
		t.Fatalf("desired %v, want %+v", handles, want)
	}
	for i, w := range want {
		g := got[i]
		var pods []string
		for _, p := range g.Pods {
			pods = append(pods, p.Name)
		}
		if g.Handle != w.handle || g.Name != volumeattachment.UniqueVolumeName(g.Driver, w.handle) || g.PV != "pv-"+w.handle || g.MultiAttach != w.multi || !slices.Equal(pods, w.pods) {
			t.Errorf("volume %d: %s %s multi %v pods %v, want %+v", i, g.Name, g.PV, g.MultiAttach, pods, w)
		}
	}
}

func TestDesiredEphemeral(t *testing.T) {
	o := objects{claims: map[string]*corev1.PersistentVolumeClaim{}, volumes: map[string]*corev1.PersistentVolume{}, drivers: map[string]*storagev1.CSIDriver{}}
	o.bound("web-scratch", drv, "a")
	p := pod("web")
	p.UID = "pod-uid"
	p.Spec.Volumes = []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}}}
	if got := Desired([]*corev1.Pod{p}, o); len(got) != 0 {
		t.Errorf("a claim the pod does not own was used: %+v", got)
	}
	o.claims["default/web-scratch"].OwnerReferences = []metav1.OwnerReference{{UID: "pod-uid", Controller: ptr.To(true), Kind: "Pod", Name: "web"}}
	if got := Desired([]*corev1.Pod{p}, o); len(got) != 1 || got[0].Handle != "a" {
		t.Errorf("ephemeral volume: %+v", got)
	}
}
