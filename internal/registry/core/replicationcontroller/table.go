package replicationcontroller

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/printers"
)

// table prints NAME DESIRED CURRENT READY AGE, and CONTAINERS IMAGES
// SELECTOR with -o wide, as upstream does.
func table() *registry.Table {
	spec, status := corev1.ReplicationControllerSpec{}.SwaggerDoc(), corev1.ReplicationControllerStatus{}.SwaggerDoc()
	return &registry.Table{
		Columns: []metav1.TableColumnDefinition{
			printers.NameColumn,
			{Name: "Desired", Type: "integer", Description: spec["replicas"]},
			{Name: "Current", Type: "integer", Description: status["replicas"]},
			{Name: "Ready", Type: "integer", Description: status["readyReplicas"]},
			printers.AgeColumn,
			{Name: "Containers", Type: "string", Priority: 1, Description: "Names of each container in the template."},
			{Name: "Images", Type: "string", Priority: 1, Description: "Images referenced by each container in the template."},
			{Name: "Selector", Type: "string", Priority: 1, Description: spec["selector"]},
		},
		Row: func(obj runtime.Object) ([]interface{}, error) {
			rc := obj.(*corev1.ReplicationController)
			var desired int32
			if rc.Spec.Replicas != nil {
				desired = *rc.Spec.Replicas
			}
			var containers []corev1.Container
			if rc.Spec.Template != nil {
				containers = rc.Spec.Template.Spec.Containers
			}
			names, images := printers.ContainerCells(containers)
			return []interface{}{
				rc.Name, int64(desired), int64(rc.Status.Replicas), int64(rc.Status.ReadyReplicas), printers.Age(rc.CreationTimestamp),
				names, images, labels.FormatLabels(rc.Spec.Selector),
			}, nil
		},
	}
}
