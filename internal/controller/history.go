package controller

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TemplatePatch is what a ControllerRevision of a DaemonSet or a
// StatefulSet holds: a strategic merge patch replacing the object's pod
// template (spec.template), which `kubectl rollout undo` applies to go
// back to it.
func TemplatePatch(obj metav1.Object) ([]byte, error) {
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var o map[string]interface{}
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, err
	}
	spec, _ := o["spec"].(map[string]interface{})
	template, _ := spec["template"].(map[string]interface{})
	if template == nil {
		return nil, fmt.Errorf("%s/%s has no pod template", obj.GetNamespace(), obj.GetName())
	}
	template["$patch"] = "replace"
	return json.Marshal(map[string]interface{}{"spec": map[string]interface{}{"template": template}})
}

// EqualRevisionData compares the data of two revisions as JSON values,
// whatever the storage did to key order; data that is not JSON equals
// only itself.
func EqualRevisionData(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y interface{}
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
