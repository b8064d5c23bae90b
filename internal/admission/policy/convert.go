package policy

import (
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// toUnstructured returns obj as an unstructured object carrying
// apiVersion and kind (gvk when obj has none). Custom resources arrive
// unstructured already and are used as they are.
func toUnstructured(obj runtime.Object, gvk schema.GroupVersionKind) (*unstructured.Unstructured, error) {
	if obj == nil {
		return nil, nil
	}
	if u, ok := obj.(*unstructured.Unstructured); ok {
		if u.GetAPIVersion() != "" && u.GetKind() != "" {
			return u, nil
		}
		u = u.DeepCopy()
		u.SetGroupVersionKind(gvk)
		return u, nil
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("convert %T: %w", obj, err)
	}
	u := &unstructured.Unstructured{Object: m}
	if u.GetKind() == "" {
		u.SetGroupVersionKind(gvk)
	}
	return u, nil
}

// paramObject is a param as CEL reads it: upstream's reflection-based
// conversion takes the map ToUnstructured returns.
type paramObject struct {
	u *unstructured.Unstructured
}

func (p *paramObject) GetObjectKind() schema.ObjectKind { return p.u.GetObjectKind() }
func (p *paramObject) DeepCopyObject() runtime.Object {
	return &paramObject{u: p.u.DeepCopy()}
}

// ToUnstructured implements value.UnstructuredConverter.
func (p *paramObject) ToUnstructured() interface{} { return p.u.Object }

// MarshalJSON completes value.UnstructuredConverter.
func (p *paramObject) MarshalJSON() ([]byte, error) { return json.Marshal(p.u.Object) }
