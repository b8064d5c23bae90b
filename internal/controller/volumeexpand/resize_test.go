package volumeexpand_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller/manager"
)

// boundClaim makes claim name of class bound to a 1Gi volume, as the
// binder leaves it: status Bound with 1Gi of capacity.
func boundClaim(t *testing.T, s *clustertest.Server, name, class string) {
	t.Helper()
	ctx := context.Background()
	c := s.Client
	oneGi := corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}
	pvc, err := c.CoreV1().PersistentVolumeClaims("default").Create(ctx, &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: ptr.To(class),
			Resources:        corev1.VolumeResourceRequirements{Requests: oneGi},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().PersistentVolumes().Create(ctx, &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv-" + name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:               oneGi,
			AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName:       class,
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "disk.example.com", VolumeHandle: name}},
			ClaimRef:               &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: "default", Name: name, UID: pvc.UID},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pvc.Spec.VolumeName = "pv-" + name
	if pvc, err = c.CoreV1().PersistentVolumeClaims("default").Update(ctx, pvc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	pvc.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, AccessModes: pvc.Spec.AccessModes, Capacity: oneGi}
	if _, err := c.CoreV1().PersistentVolumeClaims("default").UpdateStatus(ctx, pvc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func storageRequest(t *testing.T, s *clustertest.Server, name string) string {
	t.Helper()
	return strings.TrimSpace(s.MustKubectl("get", "pvc", name, "-o", "jsonpath={.spec.resources.requests.storage}"))
}

func patchSize(s *clustertest.Server, name, size string) error {
	_, err := s.Kubectl("patch", "pvc", name, "-p", `{"spec":{"resources":{"requests":{"storage":"`+size+`"}}}}`)
	return err
}

// TestResize: growing a claim is refused unless its class allows
// expansion (PersistentVolumeClaimResize, upstream's words, 403) and
// nothing changes; with it, the claim grows and the expand controller
// says an external controller is to expand it. Shrinking below the
// capacity is refused by validation (422).
func TestResize(t *testing.T) {
	s := clustertest.Start(t)
	s.RunControllerManager(func(o *manager.Options) { o.Controllers = []string{"persistentvolume-expander"} })
	ctx := context.Background()
	c := s.Client
	for _, sc := range []*storagev1.StorageClass{
		{ObjectMeta: metav1.ObjectMeta{Name: "fixed"}, Provisioner: "example.com/disk"},
		{ObjectMeta: metav1.ObjectMeta{Name: "growing"}, Provisioner: "example.com/disk", AllowVolumeExpansion: ptr.To(true)},
	} {
		if _, err := c.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	boundClaim(t, s, "fixed-data", "fixed")
	boundClaim(t, s, "growing-data", "growing")

	err := patchSize(s, "fixed-data", "2Gi")
	const refused = `Error from server (Forbidden): persistentvolumeclaims "fixed-data" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize`
	var kerr *clustertest.KubectlError
	if !errors.As(err, &kerr) || strings.TrimSpace(kerr.Stderr) != refused {
		t.Fatalf("kubectl patch of a fixed class: %v", err)
	}
	if got := storageRequest(t, s, "fixed-data"); got != "1Gi" {
		t.Errorf("refused resize stored: %s", got)
	}

	if err := patchSize(s, "growing-data", "2Gi"); err != nil {
		t.Fatalf("kubectl patch of an expandable class: %v", err)
	}
	if got := storageRequest(t, s, "growing-data"); got != "2Gi" {
		t.Errorf("request %s, want 2Gi", got)
	}
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		list, err := c.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: fields.Set{
			"involvedObject.kind": "PersistentVolumeClaim", "involvedObject.name": "growing-data", "reason": "ExternalExpanding"}.String()})
		if err != nil || len(list.Items) == 0 {
			return false, err
		}
		e := list.Items[0]
		if e.Message != "waiting for an external controller to expand this PVC" || e.Type != corev1.EventTypeNormal || e.Source.Component != "volume_expand" {
			t.Fatalf("event %s %q from %q", e.Type, e.Message, e.Source.Component)
		}
		return true, nil
	}); err != nil {
		t.Fatalf("waiting for the ExternalExpanding event: %v", err)
	}
	if out := s.MustKubectl("describe", "pvc", "growing-data"); !strings.Contains(out, "ExternalExpanding") {
		t.Errorf("kubectl describe pvc:\n%s", out)
	}

	// Back down to what the failed expansion started from is allowed
	// (upstream's recovery); below the capacity is not.
	err = patchSize(s, "growing-data", "512Mi")
	const shrink = `The PersistentVolumeClaim "growing-data" is invalid: spec.resources.requests.storage: Forbidden: field can not be less than status.capacity`
	if !errors.As(err, &kerr) || !strings.Contains(kerr.Stderr, shrink) {
		t.Fatalf("kubectl patch below the capacity: %v", err)
	}
	if got := storageRequest(t, s, "growing-data"); got != "2Gi" {
		t.Errorf("refused shrink stored: %s", got)
	}
	if err := patchSize(s, "growing-data", "1536Mi"); err != nil {
		t.Errorf("kubectl patch between capacity and request: %v", err)
	}
}
