package cronjob

import (
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/printers"
)

// table prints NAME SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE AGE,
// and with -o wide CONTAINERS IMAGES SELECTOR, as upstream does.
func table() *registry.Table {
	return &registry.Table{
		Columns: []metav1.TableColumnDefinition{
			printers.NameColumn,
			{Name: "Schedule", Type: "string", Description: batchv1.CronJobSpec{}.SwaggerDoc()["schedule"]},
			{Name: "Timezone", Type: "string", Description: batchv1.CronJobSpec{}.SwaggerDoc()["timeZone"]},
			{Name: "Suspend", Type: "boolean", Description: batchv1.CronJobSpec{}.SwaggerDoc()["suspend"]},
			{Name: "Active", Type: "integer", Description: batchv1.CronJobStatus{}.SwaggerDoc()["active"]},
			{Name: "Last Schedule", Type: "string", Description: batchv1.CronJobStatus{}.SwaggerDoc()["lastScheduleTime"]},
			printers.AgeColumn,
			{Name: "Containers", Type: "string", Priority: 1, Description: "Names of each container in the template."},
			{Name: "Images", Type: "string", Priority: 1, Description: "Images referenced by each container in the template."},
			{Name: "Selector", Type: "string", Priority: 1, Description: batchv1.JobSpec{}.SwaggerDoc()["selector"]},
		},
		Row: func(obj runtime.Object) ([]interface{}, error) {
			cj := obj.(*batchv1.CronJob)
			last := "<none>"
			if cj.Status.LastScheduleTime != nil {
				last = printers.Age(*cj.Status.LastScheduleTime)
			}
			tz := "<none>"
			if cj.Spec.TimeZone != nil {
				tz = *cj.Spec.TimeZone
			}
			// Upstream prints the bool as text, "<unset>" when nil.
			suspend := "<unset>"
			switch {
			case cj.Spec.Suspend == nil:
			case *cj.Spec.Suspend:
				suspend = "True"
			default:
				suspend = "False"
			}
			t := &cj.Spec.JobTemplate.Spec
			names, images := printers.ContainerCells(t.Template.Spec.Containers)
			return []interface{}{
				cj.Name, cj.Spec.Schedule, tz, suspend, int64(len(cj.Status.Active)), last,
				printers.Age(cj.CreationTimestamp),
				names, images, metav1.FormatLabelSelector(t.Selector),
			}, nil
		},
	}
}
