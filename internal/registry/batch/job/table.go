package job

import (
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/printers"
)

// table prints NAME STATUS COMPLETIONS DURATION AGE, and with -o wide
// CONTAINERS IMAGES SELECTOR, as upstream does.
func table() *registry.Table {
	return &registry.Table{
		Columns: []metav1.TableColumnDefinition{
			printers.NameColumn,
			{Name: "Status", Type: "string", Description: "Status of the job."},
			{Name: "Completions", Type: "string", Description: batchv1.JobStatus{}.SwaggerDoc()["succeeded"]},
			{Name: "Duration", Type: "string", Description: "Time required to complete the job."},
			printers.AgeColumn,
			{Name: "Containers", Type: "string", Priority: 1, Description: "Names of each container in the template."},
			{Name: "Images", Type: "string", Priority: 1, Description: "Images referenced by each container in the template."},
			{Name: "Selector", Type: "string", Priority: 1, Description: batchv1.JobSpec{}.SwaggerDoc()["selector"]},
		},
		Row: func(obj runtime.Object) ([]interface{}, error) {
			job := obj.(*batchv1.Job)
			names, images := printers.ContainerCells(job.Spec.Template.Spec.Containers)
			return []interface{}{
				job.Name, statusCell(job), completionsCell(job), durationCell(job),
				printers.Age(job.CreationTimestamp),
				names, images, metav1.FormatLabelSelector(job.Spec.Selector),
			}, nil
		},
	}
}

// completionsCell is succeeded/completions, or for a job that runs until
// one pod succeeds, succeeded/1 (with "of <parallelism>" when parallel).
func completionsCell(job *batchv1.Job) string {
	if job.Spec.Completions != nil {
		return fmt.Sprintf("%d/%d", job.Status.Succeeded, *job.Spec.Completions)
	}
	if job.Spec.Parallelism != nil && *job.Spec.Parallelism > 1 {
		return fmt.Sprintf("%d/1 of %d", job.Status.Succeeded, *job.Spec.Parallelism)
	}
	return fmt.Sprintf("%d/1", job.Status.Succeeded)
}

// durationCell is how long the job ran, or has been running; empty
// before it starts.
func durationCell(job *batchv1.Job) string {
	switch {
	case job.Status.StartTime == nil:
		return ""
	case job.Status.CompletionTime == nil:
		return duration.HumanDuration(time.Since(job.Status.StartTime.Time))
	default:
		return duration.HumanDuration(job.Status.CompletionTime.Sub(job.Status.StartTime.Time))
	}
}

// statusCell is the job's state in upstream's order of precedence.
func statusCell(job *batchv1.Job) string {
	has := func(t batchv1.JobConditionType) bool {
		// Upstream looks at the first condition of the type only.
		for _, c := range job.Status.Conditions {
			if c.Type == t {
				return c.Status == corev1.ConditionTrue
			}
		}
		return false
	}
	switch {
	case has(batchv1.JobComplete):
		return "Complete"
	case has(batchv1.JobFailed):
		return "Failed"
	case job.DeletionTimestamp != nil:
		return "Terminating"
	case has(batchv1.JobSuspended):
		return "Suspended"
	case has(batchv1.JobFailureTarget):
		return "FailureTarget"
	case has(batchv1.JobSuccessCriteriaMet):
		return "SuccessCriteriaMet"
	}
	return "Running"
}
