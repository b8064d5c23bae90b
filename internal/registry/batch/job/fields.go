package job

import (
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
)

// selectableFields adds status.successful (the succeeded count), which
// upstream lets field selectors use for jobs.
func selectableFields(obj runtime.Object) fields.Set {
	job := obj.(*batchv1.Job)
	return fields.Set{"status.successful": strconv.Itoa(int(job.Status.Succeeded))}
}
