package customresource

import (
	"fmt"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// sameIdentity refuses a converted object that is not the one sent
// (upstream's validateConvertedObject).
func sameIdentity(in, out *unstructured.Unstructured) error {
	if e, a := in.GetKind(), out.GetKind(); e != a {
		return fmt.Errorf("must have the same kind: %v != %v", e, a)
	}
	if e, a := in.GetName(), out.GetName(); e != a {
		return fmt.Errorf("must have the same name: %v != %v", e, a)
	}
	if e, a := in.GetNamespace(), out.GetNamespace(); e != a {
		return fmt.Errorf("must have the same namespace: %v != %v", e, a)
	}
	if e, a := in.GetUID(), out.GetUID(); e != a {
		return fmt.Errorf("must have the same UID: %v != %v", e, a)
	}
	return nil
}

// restoreMetadata gives out the metadata of in, except labels and
// annotations, which a webhook may change (upstream's restoreObjectMeta):
// what else it changed in metadata is dropped.
func restoreMetadata(in, out *unstructured.Unstructured) error {
	answered, ok := out.Object["metadata"].(map[string]interface{})
	if !ok {
		if out.Object["metadata"] == nil {
			return fmt.Errorf("missing metadata in converted object")
		}
		return fmt.Errorf("invalid metadata of type %T in converted object", out.Object["metadata"])
	}
	restored := map[string]interface{}{}
	if m, ok := in.Object["metadata"].(map[string]interface{}); ok {
		restored = runtime.DeepCopyJSONValue(m).(map[string]interface{})
	}
	out.Object["metadata"] = restored
	for _, fld := range []string{"labels", "annotations"} {
		v, found := answered[fld]
		if !found || v == nil {
			delete(restored, fld)
			continue
		}
		m, ok := v.(map[string]interface{})
		if !ok {
			return fmt.Errorf("invalid metadata.%s of type %T in converted object", fld, v)
		}
		strs := make(map[string]string, len(m))
		for k, s := range m {
			str, ok := s.(string)
			if !ok {
				return fmt.Errorf("metadata.%s[%s] must be a string, but is %T in converted object", fld, k, s)
			}
			strs[k] = str
		}
		var errs field.ErrorList
		if fld == "labels" {
			errs = metav1validation.ValidateLabels(strs, field.NewPath("metadata", "labels"))
		} else {
			errs = apivalidation.ValidateAnnotations(strs, field.NewPath("metadata", "annotation"))
		}
		if len(errs) > 0 {
			return errs.ToAggregate()
		}
		restored[fld] = m
	}
	return nil
}
