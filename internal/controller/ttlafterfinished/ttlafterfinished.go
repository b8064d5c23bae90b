// Package ttlafterfinished is the TTL-after-finished controller: it
// deletes a finished Job (Complete or Failed) ttlSecondsAfterFinished
// after it finished, with its pods, as upstream's.
package ttlafterfinished

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/kemudi/kemudi/internal/controller"
)

// Name is the controller's name in --controllers.
const Name = "ttl-after-finished"

const workers = 5

// Controller is the TTL-after-finished controller.
type Controller struct {
	client kubernetes.Interface
	jobs   batchlisters.JobLister
	clock  clock.PassiveClock
	log    *slog.Logger
	loop   *controller.Loop
}

// New builds the controller.
func New(c *controller.Context) (*Controller, error) {
	clk := c.Clock
	inf := c.Informers.Batch().V1().Jobs()
	log := c.Logger(Name)
	tc := &Controller{client: c.Client, jobs: inf.Lister(), clock: clk, log: log}
	tc.loop = c.NewLoop(Name, tc.sync, log)
	enqueue := func(obj interface{}) {
		if j, ok := obj.(*batchv1.Job); ok && j.DeletionTimestamp == nil && needsCleanup(j) {
			tc.loop.Enqueue(j)
		}
	}
	if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj interface{}) { enqueue(obj) },
	}); err != nil {
		return nil, err
	}
	return tc, nil
}

// Run deletes expired Jobs until ctx ends.
func (tc *Controller) Run(ctx context.Context) error {
	tc.loop.Run(ctx, workers)
	return nil
}

func (tc *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return controller.Terminal(err)
	}
	job, err := tc.jobs.Jobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if expired, left, err := tc.expired(job); err != nil || !expired {
		if left > 0 {
			return &controller.Requeue{After: left}
		}
		return err
	}
	// The cache may be stale (the TTL changed, the Job was recreated):
	// decide again on the live object.
	fresh, err := tc.client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if expired, left, err := tc.expired(fresh); err != nil || !expired {
		if left > 0 {
			return &controller.Requeue{After: left}
		}
		return err
	}
	// Foreground, as upstream: the Job goes once its pods are gone.
	policy := metav1.DeletePropagationForeground
	err = tc.client.BatchV1().Jobs(ns).Delete(ctx, name, metav1.DeleteOptions{
		PropagationPolicy: &policy,
		Preconditions:     &metav1.Preconditions{UID: &fresh.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete expired job %s: %w", key, err)
	}
	tc.log.Debug("deleted finished job", "job", key)
	return nil
}

// expired says whether the Job's TTL has run out, or how long is left.
func (tc *Controller) expired(j *batchv1.Job) (bool, time.Duration, error) {
	if j.DeletionTimestamp != nil || !needsCleanup(j) {
		return false, 0, nil
	}
	left, err := timeLeft(j, tc.clock.Now())
	if err != nil {
		return false, 0, err
	}
	if left <= 0 {
		return true, 0, nil
	}
	return false, left, nil
}

// needsCleanup: the Job has a TTL and has finished.
func needsCleanup(j *batchv1.Job) bool {
	if j.Spec.TTLSecondsAfterFinished == nil {
		return false
	}
	_, ok := finishTime(j)
	return ok
}

// finishTime is when the Job's Complete or Failed condition became true.
func finishTime(j *batchv1.Job) (time.Time, bool) {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return c.LastTransitionTime.Time, true
		}
	}
	return time.Time{}, false
}

// timeLeft is how long until the finished Job expires (negative when it
// has).
func timeLeft(j *batchv1.Job, now time.Time) (time.Duration, error) {
	finished, ok := finishTime(j)
	if !ok {
		return 0, fmt.Errorf("job %s/%s has not finished", j.Namespace, j.Name)
	}
	if finished.IsZero() {
		return 0, controller.Terminal(fmt.Errorf("unable to find the time when the Job %s/%s finished", j.Namespace, j.Name))
	}
	return finished.Add(time.Duration(*j.Spec.TTLSecondsAfterFinished) * time.Second).Sub(now), nil
}
