package ttlafterfinished

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestTimeLeft(t *testing.T) {
	now := time.Unix(100000, 0)
	job := func(ttl *int32, cond batchv1.JobConditionType, finished time.Time) *batchv1.Job {
		j := &batchv1.Job{}
		j.Spec.TTLSecondsAfterFinished = ttl
		if cond != "" {
			j.Status.Conditions = []batchv1.JobCondition{{Type: cond, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(finished)}}
		}
		return j
	}
	ttl := func(n int32) *int32 { return &n }
	for _, tc := range []struct {
		name  string
		job   *batchv1.Job
		needs bool
		left  time.Duration
	}{
		{"no ttl", job(nil, batchv1.JobComplete, now), false, 0},
		{"running", job(ttl(10), "", time.Time{}), false, 0},
		{"suspended is not finished", job(ttl(10), batchv1.JobSuspended, now), false, 0},
		{"completed just now", job(ttl(10), batchv1.JobComplete, now), true, 10 * time.Second},
		{"failed long ago", job(ttl(10), batchv1.JobFailed, now.Add(-time.Minute)), true, -50 * time.Second},
		{"ttl zero", job(ttl(0), batchv1.JobComplete, now), true, 0},
	} {
		if got := needsCleanup(tc.job); got != tc.needs {
			t.Errorf("%s: needsCleanup %v", tc.name, got)
			continue
		}
		if !tc.needs {
			continue
		}
		left, err := timeLeft(tc.job, now)
		if err != nil || left != tc.left {
			t.Errorf("%s: left %v, %v; want %v", tc.name, left, err, tc.left)
		}
	}
}
