package job

import (
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry/apps/workload"
)

// warnings returns upstream's warnings for a job: on create a name that
// is not a DNS label; then the spec's.
func warnings(job, old *batchv1.Job) []string {
	var w []string
	var oldSpec *batchv1.JobSpec
	if old == nil {
		w = workload.NameWarnings(job.Name)
	} else {
		oldSpec = &old.Spec
	}
	return append(w, SpecWarnings(&job.Spec, oldSpec, field.NewPath("spec"))...)
}

// SpecWarnings warns about an Indexed job spec with more than 10^5
// completions and 10^4 parallelism, and about its pod template (on create,
// old nil, and when the template changes).
func SpecWarnings(spec, old *batchv1.JobSpec, fldPath *field.Path) []string {
	var w []string
	if isIndexed(spec) {
		completions, parallelism := int32(0), int32(0)
		if spec.Completions != nil {
			completions = *spec.Completions
		}
		if spec.Parallelism != nil {
			parallelism = *spec.Parallelism
		}
		if completions > completionsSoftLimit && parallelism > parallelismLimitForHighCompletions {
			w = append(w, fmt.Sprintf("%s: In Indexed Jobs with a number of completions higher than 10^5 and a parallelism higher than 10^4, Kubernetes might not be able to track completedIndexes when a big number of indexes fail", fldPath))
		}
	}
	var oldTemplate *corev1.PodTemplateSpec
	if old != nil {
		oldTemplate = &old.Template
	}
	return append(w, workload.TemplateWarnings(&spec.Template, oldTemplate, fldPath.Child("template"))...)
}
