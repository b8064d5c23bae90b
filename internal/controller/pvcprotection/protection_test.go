package pvcprotection_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller/manager"
)

func until(t *testing.T, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 30*time.Second, true, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func has(finalizers []string, f string) bool {
	for _, x := range finalizers {
		if x == f {
			return true
		}
	}
	return false
}

func TestClaimInUseIsKept(t *testing.T) {
	s := clustertest.Start(t)
	s.RunControllerManager(func(o *manager.Options) {
		o.Controllers = []string{"persistentvolumeclaim-protection", "persistentvolume-protection"}
	})
	ctx := context.Background()
	c := s.Client

	pvc, err := c.CoreV1().PersistentVolumeClaims("default").Create(ctx, &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !has(pvc.Finalizers, "kubernetes.io/pvc-protection") {
		t.Fatalf("claim finalizers = %v", pvc.Finalizers)
	}
	// A scheduled pod uses it.
	if _, err := c.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "db", Image: "postgres:17"}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.MustKubectl("delete", "pvc", "data", "--wait=false")
	// It stays, Terminating, while the pod exists.
	until(t, "the claim to be terminating", func(ctx context.Context) (bool, error) {
		p, err := c.CoreV1().PersistentVolumeClaims("default").Get(ctx, "data", metav1.GetOptions{})
		return err == nil && p.DeletionTimestamp != nil, err
	})
	out := s.MustKubectl("get", "pvc", "data")
	if !strings.Contains(out, "Terminating") {
		t.Errorf("kubectl get pvc:\n%s", out)
	}
	// A marker the controller must handle after the deletion: a claim
	// whose finalizer is taken away gets it back.
	marker, err := c.CoreV1().PersistentVolumeClaims("default").Create(ctx, &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "marker"}, Spec: pvc.Spec,
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	marker.Finalizers = nil
	if _, err := c.CoreV1().PersistentVolumeClaims("default").Update(ctx, marker, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	until(t, "the marker's finalizer back", func(ctx context.Context) (bool, error) {
		m, err := c.CoreV1().PersistentVolumeClaims("default").Get(ctx, "marker", metav1.GetOptions{})
		return err == nil && has(m.Finalizers, "kubernetes.io/pvc-protection"), err
	})
	p, err := c.CoreV1().PersistentVolumeClaims("default").Get(ctx, "data", metav1.GetOptions{})
	if err != nil || !has(p.Finalizers, "kubernetes.io/pvc-protection") {
		t.Fatalf("claim in use lost its protection: %v %v", p, err)
	}
	if err := c.CoreV1().Pods("default").Delete(ctx, "db", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	until(t, "the claim to go with its last pod", func(ctx context.Context) (bool, error) {
		_, err := c.CoreV1().PersistentVolumeClaims("default").Get(ctx, "data", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})

	// Volumes: protected while bound, gone once deleted unbound.
	pv, err := c.CoreV1().PersistentVolumes().Create(ctx, &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "vol"},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/vol"}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !has(pv.Finalizers, "kubernetes.io/pv-protection") {
		t.Fatalf("volume finalizers = %v", pv.Finalizers)
	}
	if err := c.CoreV1().PersistentVolumes().Delete(ctx, "vol", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	until(t, "the unbound volume to go", func(ctx context.Context) (bool, error) {
		_, err := c.CoreV1().PersistentVolumes().Get(ctx, "vol", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
}
