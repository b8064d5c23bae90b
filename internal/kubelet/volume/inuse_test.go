package volume

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
)

func csiPV(name, claim, driver, handle string) *corev1.PersistentVolume {
	pv := localPV(name, claim, "")
	pv.Spec.Local = nil
	pv.Spec.CSI = &corev1.CSIPersistentVolumeSource{Driver: driver, VolumeHandle: handle}
	return pv
}

// TestInUse: a pod's CSI volumes are in use from its first set-up
// (even though this kubelet cannot mount them) until it is torn down;
// other volumes never are.
func TestInUse(t *testing.T) {
	data := t.TempDir()
	client := fake.NewClientset(boundClaim("disk", "pv-disk"), csiPV("pv-disk", "disk", "disk.csi.test", "vol-1"),
		boundClaim("data", "pv-local"), localPV("pv-local", "data", data))
	m := New(t.TempDir(), client, slog.New(slog.NewTextHandler(io.Discard, nil)))
	pod := claimPod(pvcVolume("d", "disk", false), pvcVolume("l", "data", false))
	if got := m.InUse(); len(got) != 0 {
		t.Errorf("in use before any pod: %v", got)
	}
	_, err := m.SetUp(context.Background(), pod, Env{})
	if want := `MountVolume.SetUp failed for volume "pv-disk" : csi volumes are not supported by this kubelet`; errString(err) != want {
		t.Errorf("csi volume: %v, want %s", err, want)
	}
	if got := m.InUse(); !slices.Equal(got, []corev1.UniqueVolumeName{"kubernetes.io/csi/disk.csi.test^vol-1"}) {
		t.Errorf("in use: %v", got)
	}
	// A second pod of the same volume: named once.
	other := claimPod(pvcVolume("d", "disk", false))
	other.ObjectMeta = metav1.ObjectMeta{Name: "other", Namespace: "ns", UID: "other-uid"}
	_, _ = m.SetUp(context.Background(), other, Env{})
	if got := m.InUse(); len(got) != 1 {
		t.Errorf("two pods of one volume: %v", got)
	}
	for _, uid := range []string{"pod-uid", "other-uid"} {
		if err := m.TearDown(types.UID(uid)); err != nil {
			t.Fatal(err)
		}
	}
	if got := m.InUse(); len(got) != 0 {
		t.Errorf("in use after the pods were torn down: %v", got)
	}
}
