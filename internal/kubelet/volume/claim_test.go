package volume

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

// claimPod is a pod whose one container mounts each volume.
func claimPod(vols ...corev1.Volume) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "pod-uid"}}
	p.Spec.Volumes = vols
	c := corev1.Container{Name: "c"}
	for _, v := range vols {
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: v.Name, MountPath: "/" + v.Name})
	}
	p.Spec.Containers = []corev1.Container{c}
	return p
}

func pvcVolume(name, claim string, ro bool) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim, ReadOnly: ro}}}
}

func ephemeralVolume(name string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}}
}

func boundClaim(name, pv string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name)},
		Spec: corev1.PersistentVolumeClaimSpec{VolumeName: pv}, Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound}}
}

func localPV(name, claim, path string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			ClaimRef:               &corev1.ObjectReference{Namespace: "ns", Name: claim, UID: types.UID("uid-" + claim)},
			PersistentVolumeSource: corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: path}}}}
}

func TestCheckClaim(t *testing.T) {
	owned := boundClaim("web-scratch", "pv1")
	owned.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: "web", UID: "pod-uid", Controller: ptr.To(true)}}
	pending := boundClaim("data", "")
	pending.Status.Phase = corev1.ClaimPending
	noName := boundClaim("data", "")
	deleting := boundClaim("data", "pv1")
	deleting.DeletionTimestamp = &metav1.Time{}
	protected := deleting.DeepCopy()
	protected.Finalizers = []string{"kubernetes.io/pvc-protection"}
	notOwner := owned.DeepCopy()
	notOwner.OwnerReferences[0].UID = "other"
	for _, tc := range []struct {
		name string
		v    corev1.Volume
		pvc  *corev1.PersistentVolumeClaim
		want string
	}{
		{"bound", pvcVolume("d", "data", false), boundClaim("data", "pv1"), ""},
		{"pending", pvcVolume("d", "data", false), pending, "error processing PVC ns/data: PVC is not bound"},
		{"no volume name", pvcVolume("d", "data", false), noName, "error processing PVC ns/data: PVC has empty pvc.Spec.VolumeName"},
		{"deleting", pvcVolume("d", "data", false), deleting, "error processing PVC ns/data: PVC is being deleted"},
		{"deleting but protected", pvcVolume("d", "data", false), protected, ""},
		{"ephemeral, the pod's", ephemeralVolume("scratch"), owned, ""},
		{"ephemeral, not the pod's", ephemeralVolume("scratch"), notOwner, "PVC ns/web-scratch was not created for pod ns/web (pod is not owner)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkClaim(claimPod(tc.v), &tc.v, tc.pvc)
			if got := errString(err); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCheckPVAndMode(t *testing.T) {
	pvc := boundClaim("data", "pv1")
	unbound := localPV("pv1", "data", "/x")
	unbound.Spec.ClaimRef = nil
	other := localPV("pv1", "other", "/x")
	block := localPV("pv1", "data", "/x")
	block.Spec.VolumeMode = ptr.To(corev1.PersistentVolumeBlock)
	for _, tc := range []struct {
		name            string
		pv              *corev1.PersistentVolume
		mounted, device bool
		want            string
	}{
		{"bound back", localPV("pv1", "data", "/x"), true, false, ""},
		{"no claimRef", unbound, true, false, "found PV object pv1 but it has a nil pv.Spec.ClaimRef indicating it is not yet bound to the claim"},
		{"another claim's", other, true, false, "found PV object pv1 but its pv.Spec.ClaimRef.UID uid-other does not point to claim.UID uid-data"},
		{"block mounted", block, true, false, "volume d has volumeMode Block, but is specified in volumeMounts"},
		{"filesystem as device", localPV("pv1", "data", "/x"), false, true, "volume d has volumeMode Filesystem, but is specified in volumeDevices"},
		{"block as device", block, false, true, "volume d: raw block volumes (volumeDevices) are not supported by this kubelet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkPV(tc.pv, pvc)
			if err == nil {
				err = checkMode(tc.pv, "d", tc.mounted, tc.device)
			}
			if got := errString(err); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPersistentPath(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	nfs := &corev1.PersistentVolume{Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{NFS: &corev1.NFSVolumeSource{Server: "s", Path: "/"}}}}
	csi := &corev1.PersistentVolume{Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "d"}}}}
	hostDir := &corev1.PersistentVolume{Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{
		HostPath: &corev1.HostPathVolumeSource{Path: file, Type: ptr.To(corev1.HostPathDirectory)}}}}
	for _, tc := range []struct {
		name string
		pv   *corev1.PersistentVolume
		want string
	}{
		{"local dir", localPV("pv", "c", dir), ""},
		{"local missing", localPV("pv", "c", filepath.Join(dir, "gone")), "mount failed: local volume path " + dir + "/gone does not exist"},
		{"local file", localPV("pv", "c", file), "mount failed: local volume path " + file + " is not a directory"},
		{"local backsteps", localPV("pv", "c", dir+"/../x"), "invalid path: " + dir + "/../x must not contain '..'"},
		{"hostPath type check", hostDir, "hostPath type check failed: " + file + " is not a directory"},
		{"nfs", nfs, "nfs volumes are not supported by this kubelet"},
		{"csi", csi, "csi volumes are not supported by this kubelet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := persistentPath(tc.pv)
			if got := errString(err); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestSetUpClaims resolves claims through the API as the kubelet does:
// a bound claim's local volume is its path (read-only when the pod's
// volume says so), an unbound one is upstream's FailedMount message, and
// the pod's other volumes are made all the same.
func TestSetUpClaims(t *testing.T) {
	data := t.TempDir()
	pending := boundClaim("later", "")
	pending.Status.Phase = corev1.ClaimPending
	objs := []runtime.Object{boundClaim("data", "pv1"), localPV("pv1", "data", data), pending,
		boundClaim("gone", "pv-missing"), boundClaim("remote", "pv-nfs"),
		&corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-nfs"}, Spec: corev1.PersistentVolumeSpec{
			ClaimRef:               &corev1.ObjectReference{UID: "uid-remote"},
			PersistentVolumeSource: corev1.PersistentVolumeSource{NFS: &corev1.NFSVolumeSource{Server: "s", Path: "/"}}}}}
	client := fake.NewClientset(objs...)
	m := New(t.TempDir(), client, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx := context.Background()
	scratch := corev1.Volume{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}

	bound := claimPod(pvcVolume("d", "data", true), scratch)
	got, err := m.SetUp(ctx, bound, Env{})
	if err != nil {
		t.Fatal(err)
	}
	if got["d"] != (Mounted{Path: data, ReadOnly: true}) || got["tmp"].Path == "" || got["tmp"].ReadOnly {
		t.Errorf("mounted %+v", got)
	}
	// The periodic refresh sets the pod up again: its claim is not asked
	// of the API a second time, until the pod is torn down.
	calls := len(client.Actions())
	if again, err := m.SetUp(ctx, bound, Env{}); err != nil || again["d"] != got["d"] || len(client.Actions()) != calls {
		t.Errorf("second set-up: %+v, %v, %d API calls after %d", again, err, len(client.Actions()), calls)
	}
	if err := m.TearDown(bound.UID); err != nil {
		t.Fatal(err)
	}
	if _, err := m.SetUp(ctx, bound, Env{}); err != nil || len(client.Actions()) != calls+2 {
		t.Errorf("set-up after tear-down: %v, %d API calls, want %d", err, len(client.Actions()), calls+2)
	}

	pod := claimPod(pvcVolume("a", "later", false), pvcVolume("b", "gone", false), scratch)
	got, err = m.SetUp(ctx, pod, Env{})
	want := `Unable to attach or mount volumes: unmounted volumes=[a b], unattached volumes=[], failed to process volumes=[a b]: ` +
		`error processing PVC ns/later: PVC is not bound; error processing PVC ns/gone: failed to fetch PV pv-missing from API server: persistentvolumes "pv-missing" not found`
	if errString(err) != want {
		t.Errorf("unresolved claims:\n got %v\nwant %s", err, want)
	}
	if got["tmp"].Path == "" {
		t.Errorf("the pod's other volume was not made: %+v", got)
	}

	_, err = m.SetUp(ctx, claimPod(pvcVolume("r", "remote", false)), Env{})
	if want := `MountVolume.SetUp failed for volume "pv-nfs" : nfs volumes are not supported by this kubelet`; errString(err) != want {
		t.Errorf("nfs volume: %v, want %s", err, want)
	}

	unused := claimPod(scratch)
	unused.Spec.Volumes = append(unused.Spec.Volumes, pvcVolume("idle", "later", false))
	if _, err := m.SetUp(ctx, unused, Env{}); err != nil {
		t.Errorf("a claim no container mounts blocked the pod: %v", err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return strings.TrimSpace(err.Error())
}
