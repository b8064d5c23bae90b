package ttlafterfinished_test

import (
	"context"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller/controllertest"
)

// A finished Job with ttlSecondsAfterFinished goes away after it; one
// without stays.
func TestFinishedJobDeletedAfterTTL(t *testing.T) {
	s := clustertest.Start(t)
	s.RunControlPlane("controller-manager")
	ctx := context.Background()
	if _, err := s.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ttl"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.StartKubelet(t, s.Client, "ttl", "node-1")
	job := func(name string, ttl *int32) *batchv1.Job {
		return &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: batchv1.JobSpec{
				TTLSecondsAfterFinished: ttl,
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{controllertest.CompleteAfter: "0s"}},
					Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
				},
			},
		}
	}
	one := int32(1)
	for _, j := range []*batchv1.Job{job("short-lived", &one), job("kept", nil)} {
		if _, err := s.Client.BatchV1().Jobs("ttl").Create(ctx, j, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	s.MustKubectl("-n", "ttl", "wait", "--for=condition=complete", "job/kept", "--timeout=60s")
	// Deletion is in the foreground: it has begun once the Job has a
	// deletion timestamp, and ends when the garbage collector is done.
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		j, err := s.Client.BatchV1().Jobs("ttl").Get(ctx, "short-lived", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return err == nil && j.DeletionTimestamp != nil, err
	})
	if err != nil {
		t.Fatalf("job with a TTL not deleted: %v", err)
	}
	j, err := s.Client.BatchV1().Jobs("ttl").Get(ctx, "kept", metav1.GetOptions{})
	if err != nil || j.DeletionTimestamp != nil {
		t.Errorf("job without a TTL deleted: %v", err)
	}
}
