package csidriver

import (
	"strings"

	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/printers"
)

// table prints NAME ATTACHREQUIRED PODINFOONMOUNT STORAGECAPACITY
// TOKENREQUESTS REQUIRESREPUBLISH MODES AGE, as upstream.
func table() *registry.Table {
	doc := storagev1.CSIDriverSpec{}.SwaggerDoc()
	return &registry.Table{
		Columns: []metav1.TableColumnDefinition{
			printers.NameColumn,
			{Name: "AttachRequired", Type: "boolean", Description: doc["attachRequired"]},
			{Name: "PodInfoOnMount", Type: "boolean", Description: doc["podInfoOnMount"]},
			{Name: "StorageCapacity", Type: "boolean", Description: doc["storageCapacity"]},
			{Name: "TokenRequests", Type: "string", Description: doc["tokenRequests"]},
			{Name: "RequiresRepublish", Type: "boolean", Description: doc["requiresRepublish"]},
			{Name: "Modes", Type: "string", Description: doc["volumeLifecycleModes"]},
			printers.AgeColumn,
		},
		Row: func(obj runtime.Object) ([]interface{}, error) {
			return row(obj.(*storagev1.CSIDriver)), nil
		},
	}
}

func row(d *storagev1.CSIDriver) []interface{} {
	s := &d.Spec
	modes := make([]string, 0, len(s.VolumeLifecycleModes))
	for _, m := range s.VolumeLifecycleModes {
		modes = append(modes, string(m))
	}
	// "<unset>" tells no token requests from an empty list.
	tokens := "<unset>"
	if s.TokenRequests != nil {
		audiences := make([]string, 0, len(s.TokenRequests))
		for _, t := range s.TokenRequests {
			audiences = append(audiences, t.Audience)
		}
		tokens = strings.Join(audiences, ",")
	}
	return []interface{}{
		d.Name, AttachRequired(d), ptr.Deref(s.PodInfoOnMount, false), ptr.Deref(s.StorageCapacity, false),
		tokens, ptr.Deref(s.RequiresRepublish, false), printers.JoinOrNone(modes), printers.Age(d.CreationTimestamp),
	}
}
