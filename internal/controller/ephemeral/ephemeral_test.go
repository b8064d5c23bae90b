package ephemeral_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller/manager"
)

func until(t *testing.T, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 30*time.Second, true, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func podWithScratch(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: "busybox"}},
			Volumes: []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{
				VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{
					ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"type": "scratch"}},
					Spec: corev1.PersistentVolumeClaimSpec{
						AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
						StorageClassName: ptr.To("fast"),
						Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
					},
				},
			}}}},
		},
	}
}

func claimOf(ctx context.Context, c kubernetes.Interface, name string) (*corev1.PersistentVolumeClaim, bool, error) {
	pvc, err := c.CoreV1().PersistentVolumeClaims("default").Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, false, nil
	}
	return pvc, err == nil, err
}

// TestEphemeralVolumes: a pod's generic ephemeral volume gets its claim,
// controlled by the pod, made again if deleted while the pod lives and
// deleted with the pod (by the garbage collector); a claim of that name
// that is not the pod's is left alone and reported on the pod. The
// controllers act as their own service accounts, so the bootstrap RBAC
// is what lets them.
func TestEphemeralVolumes(t *testing.T) {
	s := clustertest.Start(t)
	s.RunControllerManager(func(o *manager.Options) {
		o.Controllers = []string{"ephemeral-volume-controller", "garbage-collector", "persistentvolumeclaim-protection"}
	})
	ctx := context.Background()
	c := s.Client

	pod, err := c.CoreV1().Pods("default").Create(ctx, podWithScratch("web"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var pvc *corev1.PersistentVolumeClaim
	until(t, "the pod's claim", func(ctx context.Context) (ok bool, err error) {
		pvc, ok, err = claimOf(ctx, c, "web-scratch")
		return ok, err
	})
	if !metav1.IsControlledBy(pvc, pod) || !*pvc.OwnerReferences[0].BlockOwnerDeletion {
		t.Errorf("claim owners %+v", pvc.OwnerReferences)
	}
	if pvc.Labels["type"] != "scratch" || *pvc.Spec.StorageClassName != "fast" || pvc.Spec.Resources.Requests.Storage().String() != "1Gi" {
		t.Errorf("claim not from the template: %+v", pvc)
	}

	// Deleted under the live pod, it is made again.
	if err := c.CoreV1().PersistentVolumeClaims("default").Delete(ctx, "web-scratch", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	until(t, "the claim made again", func(ctx context.Context) (bool, error) {
		again, ok, err := claimOf(ctx, c, "web-scratch")
		return ok && again.UID != pvc.UID && again.DeletionTimestamp == nil, err
	})

	// The garbage collector deletes it with the pod.
	if err := c.CoreV1().Pods("default").Delete(ctx, "web", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	until(t, "the claim to go with its pod", func(ctx context.Context) (bool, error) {
		_, ok, err := claimOf(ctx, c, "web-scratch")
		return !ok && err == nil, err
	})

	// A claim that is someone else's stays so; the pod says why.
	if _, err := c.CoreV1().PersistentVolumeClaims("default").Create(ctx, &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "db-scratch"},
		Spec:       podWithScratch("db").Spec.Volumes[0].Ephemeral.VolumeClaimTemplate.Spec,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Pods("default").Create(ctx, podWithScratch("db"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	want := "ephemeral volume scratch: PVC default/db-scratch was not created for pod default/db (pod is not owner)"
	until(t, "the FailedBinding event on the pod", func(ctx context.Context) (bool, error) {
		list, err := c.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: fields.Set{
			"involvedObject.kind": "Pod", "involvedObject.name": "db", "reason": "FailedBinding"}.String()})
		if err != nil {
			return false, err
		}
		for _, e := range list.Items {
			if e.Message != want || e.Type != corev1.EventTypeWarning || e.Source.Component != "ephemeral_volume" {
				t.Fatalf("event %s %q from %q", e.Type, e.Message, e.Source.Component)
			}
		}
		return len(list.Items) > 0, nil
	})
	other, _, err := claimOf(ctx, c, "db-scratch")
	if err != nil || len(other.OwnerReferences) != 0 {
		t.Errorf("the other claim changed: %+v %v", other, err)
	}
}
