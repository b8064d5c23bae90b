package configmap

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// maxSize is the limit upstream puts on the total size of a ConfigMap's
// data (the etcd request limit leaves room for metadata).
const maxSize = 1 * 1024 * 1024

// Validate checks a ConfigMap's keys and size.
func Validate(cm *corev1.ConfigMap) field.ErrorList {
	var errs field.ErrorList
	size := 0
	for key, value := range cm.Data {
		size += len(value)
		errs = append(errs, validateKey(key, field.NewPath("data").Key(key))...)
		if _, dup := cm.BinaryData[key]; dup {
			errs = append(errs, field.Invalid(field.NewPath("data").Key(key), key, "duplicate of key present in binaryData"))
		}
	}
	for key, value := range cm.BinaryData {
		size += len(value)
		errs = append(errs, validateKey(key, field.NewPath("binaryData").Key(key))...)
	}
	if size > maxSize {
		errs = append(errs, field.TooLong(field.NewPath(""), "", maxSize))
	}
	return errs
}

// ValidateUpdate checks an update: an immutable ConfigMap keeps its data.
func ValidateUpdate(cm, old *corev1.ConfigMap) field.ErrorList {
	errs := Validate(cm)
	if old.Immutable != nil && *old.Immutable {
		if cm.Immutable == nil || !*cm.Immutable {
			errs = append(errs, field.Forbidden(field.NewPath("immutable"), "field is immutable when `immutable` is set"))
		}
		if !mapsEqual(cm.Data, old.Data) {
			errs = append(errs, field.Forbidden(field.NewPath("data"), "field is immutable when `immutable` is set"))
		}
		if !binaryMapsEqual(cm.BinaryData, old.BinaryData) {
			errs = append(errs, field.Forbidden(field.NewPath("binaryData"), "field is immutable when `immutable` is set"))
		}
	}
	return errs
}

func validateKey(key string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsConfigMapKey(key) {
		errs = append(errs, field.Invalid(path, key, msg))
	}
	return errs
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func binaryMapsEqual(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || string(w) != string(v) {
			return false
		}
	}
	return true
}
