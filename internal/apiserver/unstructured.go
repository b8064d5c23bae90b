package apiserver

import (
	"strings"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// Custom objects are Unstructured: the generic verbs' reflection on the
// top-level fields of typed objects (Spec, Status) works on their
// top-level keys instead (spec, status).

// unstructuredKey is the JSON key of a top-level Go field name.
func unstructuredKey(field string) string {
	switch field {
	case "TypeMeta":
		return "" // apiVersion and kind: see isTypeMetaKey
	case "ObjectMeta":
		return "metadata"
	}
	return strings.ToLower(field[:1]) + field[1:]
}

func isTypeMetaKey(k string) bool { return k == "apiVersion" || k == "kind" }

func copyUnstructuredField(dst *unstructured.Unstructured, src runtime.Object, key string) {
	s, ok := src.(*unstructured.Unstructured)
	if !ok {
		return
	}
	if v, found := s.Object[key]; found {
		dst.Object[key] = runtime.DeepCopyJSONValue(v)
	} else {
		delete(dst.Object, key)
	}
}

// copyUnstructuredAllBut makes dst's top-level keys src's, except the
// named fields' keys.
func copyUnstructuredAllBut(dst *unstructured.Unstructured, src runtime.Object, except []string) {
	s, ok := src.(*unstructured.Unstructured)
	if !ok {
		return
	}
	keep := map[string]bool{}
	for _, e := range except {
		if k := unstructuredKey(e); k != "" {
			keep[k] = true
		} else {
			keep["apiVersion"], keep["kind"] = true, true
		}
	}
	for k := range dst.Object {
		if !keep[k] {
			delete(dst.Object, k)
		}
	}
	for k, v := range s.Object {
		if !keep[k] {
			dst.Object[k] = runtime.DeepCopyJSONValue(v)
		}
	}
}

// unstructuredSpecChanged reports whether anything but metadata (and
// status, when it is a subresource) differs: what bumps generation, as
// upstream's custom resource strategy does.
func unstructuredSpecChanged(obj *unstructured.Unstructured, old runtime.Object, statusIsSubresource bool) bool {
	o, ok := old.(*unstructured.Unstructured)
	if !ok {
		return false
	}
	skip := func(k string) bool {
		return k == "metadata" || isTypeMetaKey(k) || (statusIsSubresource && k == "status")
	}
	for k, v := range obj.Object {
		if skip(k) {
			continue
		}
		if ov, found := o.Object[k]; !found || !apiequality.Semantic.DeepEqual(v, ov) {
			return true
		}
	}
	for k := range o.Object {
		if _, found := obj.Object[k]; !found && !skip(k) {
			return true
		}
	}
	return false
}

// objectMetaOf returns obj's metadata as ObjectMeta, for typed and
// unstructured objects alike.
func objectMetaOf(obj runtime.Object) (metav1.ObjectMeta, bool) {
	if a, ok := obj.(metav1.ObjectMetaAccessor); ok {
		if om, ok := a.GetObjectMeta().(*metav1.ObjectMeta); ok {
			return *om, true
		}
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return metav1.ObjectMeta{}, false
	}
	return metav1.ObjectMeta{
		Name: m.GetName(), GenerateName: m.GetGenerateName(), Namespace: m.GetNamespace(),
		UID: m.GetUID(), ResourceVersion: m.GetResourceVersion(), Generation: m.GetGeneration(),
		CreationTimestamp: m.GetCreationTimestamp(), DeletionTimestamp: m.GetDeletionTimestamp(),
		DeletionGracePeriodSeconds: m.GetDeletionGracePeriodSeconds(),
		Labels:                     m.GetLabels(), Annotations: m.GetAnnotations(),
		OwnerReferences: m.GetOwnerReferences(), Finalizers: m.GetFinalizers(),
		ManagedFields: m.GetManagedFields(),
	}, true
}
