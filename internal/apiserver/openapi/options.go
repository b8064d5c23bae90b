package openapi

import (
	"reflect"
	"strings"

	"k8s.io/kube-openapi/pkg/common"
)

// documented is what the k8s.io/apimachinery option types implement: the
// field descriptions of their generated swagger docs.
type documented interface {
	SwaggerDoc() map[string]string
}

// optionParams returns one query parameter per field of an options struct
// (metav1.ListOptions, CreateOptions, ...), named by its json tag and
// described by its swagger doc, as upstream's installer does with
// AddObjectParams. Struct and interface fields (TypeMeta, Preconditions)
// are skipped; a pointer to a struct is skipped too except *metav1.Time.
func optionParams(obj documented, exclude ...string) []common.Parameter {
	t := reflect.TypeOf(obj)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	doc := obj.SwaggerDoc()
	var params []common.Parameter
fields:
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		switch f.Type.Kind() {
		case reflect.Interface, reflect.Struct:
			continue
		case reflect.Pointer:
			elem := f.Type.Elem().Kind()
			if (elem == reflect.Interface || elem == reflect.Struct) && strings.TrimPrefix(f.Type.String(), "*") != "v1.Time" {
				continue
			}
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		for _, x := range exclude {
			if name == x {
				continue fields
			}
		}
		params = append(params, queryParam(name, doc[name], jsonType(f.Type)))
	}
	return params
}

// jsonType is the OpenAPI type of a query parameter of Go type t. Slices
// are documented as their element type (a repeated query parameter), as
// upstream does because go-restful cannot describe array parameters.
func jsonType(t reflect.Type) string {
	if t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.String() == "v1.Time" {
		return "string"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint8, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.String:
		return "string"
	}
	return t.String()
}
