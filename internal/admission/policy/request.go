package policy

import (
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kemudi/kemudi/internal/auth"
)

// request is a write as matching sees it: the resource and kind
// requested, and the labels of the object before and after.
type request struct {
	*auth.AdmissionRequest
	gvr       schema.GroupVersionResource
	gvk       schema.GroupVersionKind
	labels    labels.Set // of Object, nil when there is none
	oldLabels labels.Set // of Old
}

// isNamespace is true for a write of a namespace itself, which
// namespaceSelector matches by its own labels.
func (r *request) isNamespace() bool {
	return r.gvr.Group == "" && r.gvr.Resource == "namespaces" && r.Subresource == ""
}

func objectLabels(obj runtime.Object) labels.Set {
	if obj == nil {
		return nil
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil
	}
	return labels.Set(m.GetLabels())
}
