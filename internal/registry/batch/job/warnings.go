package job

import (
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry/apps/workload"
)

// warnings returns upstream's warnings for a job: on create a name that
// is not a DNS label; and an Indexed job too large for its failed indexes
// to be tracked reliably.
func warnings(job *batchv1.Job, create bool) []string {
	var w []string
	if create {
		w = workload.NameWarnings(job.Name)
	}
	return append(w, SpecWarnings(&job.Spec, field.NewPath("spec"))...)
}

// SpecWarnings warns about an Indexed job spec with more than 10^5
// completions and 10^4 parallelism.
func SpecWarnings(spec *batchv1.JobSpec, fldPath *field.Path) []string {
	if !isIndexed(spec) {
		return nil
	}
	completions, parallelism := int32(0), int32(0)
	if spec.Completions != nil {
		completions = *spec.Completions
	}
	if spec.Parallelism != nil {
		parallelism = *spec.Parallelism
	}
	if completions > completionsSoftLimit && parallelism > parallelismLimitForHighCompletions {
		return []string{fmt.Sprintf("%s: In Indexed Jobs with a number of completions higher than 10^5 and a parallelism higher than 10^4, Kubernetes might not be able to track completedIndexes when a big number of indexes fail", fldPath)}
	}
	return nil
}
