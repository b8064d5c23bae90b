// Package volumeattachment serves storage.k8s.io/v1 volume attachments:
// the attach/detach controller's request that a CSI driver attach a
// volume to a node, and the driver's answer in the status.
package volumeattachment

import (
	"context"

	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/printers"
)

// Resource returns the volumeattachments resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion: storagev1.SchemeGroupVersion,
		Resource:     "volumeattachments",
		Kind:         "VolumeAttachment",
		SingularName: "volumeattachment",
		New:          func() runtime.Object { return &storagev1.VolumeAttachment{} },
		NewList:      func() runtime.Object { return &storagev1.VolumeAttachmentList{} },
		// Status is the driver's (cleared on create, kept on updates of
		// the spec, which is immutable anyway).
		HasStatus:              true,
		RequireResourceVersion: true,
		Hooks: registry.Hooks{
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*storagev1.VolumeAttachment))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*storagev1.VolumeAttachment), old.(*storagev1.VolumeAttachment))
			},
		},
		StatusHooks: registry.StatusHooks{
			ValidateUpdate: func(_ context.Context, obj, _ runtime.Object) field.ErrorList {
				return Validate(obj.(*storagev1.VolumeAttachment))
			},
		},
		Table: &registry.Table{
			// NAME ATTACHER PV NODE ATTACHED AGE, as upstream prints.
			Columns: []metav1.TableColumnDefinition{
				printers.NameColumn,
				{Name: "Attacher", Type: "string", Format: "name", Description: storagev1.VolumeAttachmentSpec{}.SwaggerDoc()["attacher"]},
				{Name: "PV", Type: "string", Description: storagev1.VolumeAttachmentSource{}.SwaggerDoc()["persistentVolumeName"]},
				{Name: "Node", Type: "string", Description: storagev1.VolumeAttachmentSpec{}.SwaggerDoc()["nodeName"]},
				{Name: "Attached", Type: "boolean", Description: storagev1.VolumeAttachmentStatus{}.SwaggerDoc()["attached"]},
				printers.AgeColumn,
			},
			Row: func(obj runtime.Object) ([]interface{}, error) {
				va := obj.(*storagev1.VolumeAttachment)
				pv := ""
				if va.Spec.Source.PersistentVolumeName != nil {
					pv = *va.Spec.Source.PersistentVolumeName
				}
				return []interface{}{va.Name, va.Spec.Attacher, pv, va.Spec.NodeName, va.Status.Attached, printers.Age(va.CreationTimestamp)}, nil
			},
		},
	}
}
