package cronjob

import (
	batchv1 "k8s.io/api/batch/v1"

	"github.com/kemudi/kemudi/internal/registry/batch/job"
)

// Default fills a cron job's unset fields as batch/v1 does: concurrent
// runs allowed, not suspended, three succeeded and one failed job kept,
// and the job template's pod defaults. The job template's own job
// defaults come when the controller creates a job from it.
func Default(cj *batchv1.CronJob) {
	spec := &cj.Spec
	if spec.ConcurrencyPolicy == "" {
		spec.ConcurrencyPolicy = batchv1.AllowConcurrent
	}
	if spec.Suspend == nil {
		spec.Suspend = new(false)
	}
	if spec.SuccessfulJobsHistoryLimit == nil {
		spec.SuccessfulJobsHistoryLimit = new(int32(3))
	}
	if spec.FailedJobsHistoryLimit == nil {
		spec.FailedJobsHistoryLimit = new(int32(1))
	}
	job.DefaultTemplate(&spec.JobTemplate.Spec)
}
