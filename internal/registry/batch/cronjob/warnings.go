package cronjob

import (
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry/apps/workload"
	"github.com/kemudi/kemudi/internal/registry/batch/job"
)

// warnings returns upstream's warnings: on create a name that is not a
// DNS label; the job template's; and on update a schedule that still
// carries a TZ prefix.
func warnings(cj, old *batchv1.CronJob) []string {
	var w []string
	var oldSpec *batchv1.JobSpec
	if old == nil {
		w = workload.NameWarnings(cj.Name)
	} else {
		oldSpec = &old.Spec.JobTemplate.Spec
	}
	w = append(w, job.SpecWarnings(&cj.Spec.JobTemplate.Spec, oldSpec, field.NewPath("spec", "jobTemplate", "spec"))...)
	if old != nil && strings.Contains(cj.Spec.Schedule, "TZ") {
		// Upstream's message names the field spec.spec.schedule.
		w = append(w, "cannot use TZ or CRON_TZ in spec.spec.schedule, use timeZone instead, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details")
	}
	return w
}
