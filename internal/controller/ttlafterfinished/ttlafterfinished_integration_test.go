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
	"github.com/kemudi/kemudi/internal/simnode"
	"github.com/kemudi/kemudi/internal/simnode/simnodetest"
)

// A finished Job with ttlSecondsAfterFinished goes away after it; one
// without stays.
func TestFinishedJobDeletedAfterTTL(t *testing.T) {
	s := clustertest.Start(t)
	s.RunControlPlane("scheduler", "controller-manager")
	ctx := context.Background()
	if _, err := s.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ttl"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	simnodetest.Start(t, s.Config, simnode.Options{Count: 1})
	job := func(name string, ttl *int32) *batchv1.Job {
		return &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: batchv1.JobSpec{
				TTLSecondsAfterFinished: ttl,
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{simnode.AnnotationCompleteAfter: "0s"}},
					Spec:       corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
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
	// Deletion is in the foreground: the garbage collector removes the
	// pods, then the Job.
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := s.Client.BatchV1().Jobs("ttl").Get(ctx, "short-lived", metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			return false, nil
		}
		pods, err := s.Client.CoreV1().Pods("ttl").List(ctx, metav1.ListOptions{LabelSelector: "job-name=short-lived"})
		return err == nil && len(pods.Items) == 0, nil
	})
	if err != nil {
		t.Fatalf("job with a TTL and its pods not deleted: %v", err)
	}
	j, err := s.Client.BatchV1().Jobs("ttl").Get(ctx, "kept", metav1.GetOptions{})
	if err != nil || j.DeletionTimestamp != nil {
		t.Errorf("job without a TTL deleted: %v", err)
	}
}
