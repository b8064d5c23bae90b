package controllerrevision

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"

	appsv1 "k8s.io/api/apps/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Validate checks a revision on create: a non-negative revision number
// and data that is a JSON object.
func Validate(cr *appsv1.ControllerRevision) field.ErrorList {
	errs := apimachineryvalidation.ValidateNonnegativeField(cr.Revision, field.NewPath("revision"))
	return append(errs, validateData(cr)...)
}

// ValidateUpdate checks an update: the data of a revision never changes
// (its revision number may, when a controller reuses an old revision).
// Data is compared as JSON values, not bytes: a patch of the revision's
// metadata re-encodes the data, which must not count as a change.
func ValidateUpdate(cr, old *appsv1.ControllerRevision) field.ErrorList {
	errs := apimachineryvalidation.ValidateNonnegativeField(cr.Revision, field.NewPath("revision"))
	if !sameJSON(cr.Data.Raw, old.Data.Raw) {
		errs = append(errs, apimachineryvalidation.ValidateImmutableField(cr.Data, old.Data, field.NewPath("data"))...)
	}
	return errs
}

// sameJSON reports whether a and b are the same bytes or encode the same
// JSON value.
func sameJSON(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	va, okA := decodeJSON(a)
	vb, okB := decodeJSON(b)
	return okA && okB && reflect.DeepEqual(va, vb)
}

// decodeJSON decodes one JSON value, keeping numbers exact.
func decodeJSON(b []byte) (any, bool) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil || d.More() {
		return nil, false
	}
	return v, true
}

func validateData(cr *appsv1.ControllerRevision) field.ErrorList {
	path := field.NewPath("data")
	raw := cr.Data.Raw
	if raw == nil && cr.Data.Object != nil {
		// Built in process rather than decoded from a request.
		b, err := json.Marshal(cr.Data.Object)
		if err != nil {
			return field.ErrorList{field.Invalid(path, "<value omitted>", fmt.Sprintf("error parsing data: %v", err))}
		}
		raw = b
	}
	if raw == nil {
		return field.ErrorList{field.Required(path, "data is mandatory")}
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return field.ErrorList{field.Invalid(path, "<value omitted>", fmt.Sprintf("error parsing data: %v", err))}
	}
	if v == nil {
		return field.ErrorList{field.Required(path, "data is mandatory")}
	}
	if _, ok := v.(map[string]any); !ok {
		return field.ErrorList{field.Required(path, "data must be a valid JSON object")}
	}
	return nil
}
