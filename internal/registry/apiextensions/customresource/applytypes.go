package customresource

import (
	"sync"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"sigs.k8s.io/structured-merge-diff/v6/typed"

	crdschema "github.com/kemudi/kemudi/internal/registry/apiextensions/schema"
)

// applyTypes is a CRD's type information for server-side apply, built on
// first use: building it means building the CRD's OpenAPI for every
// version, which most CRDs' objects (never applied) do not need, and
// which would otherwise be paid each time a CRD is established. A
// version whose schema does not compile has its fields' types deduced.
type applyTypes struct {
	get func() managedfields.TypeConverter
}

func newApplyTypes(crd *apiextensionsv1.CustomResourceDefinition, compiled lazySchema) managedfields.TypeConverter {
	return applyTypes{get: sync.OnceValue(func() managedfields.TypeConverter {
		if _, err := compiled(); err == nil {
			if tc, err := crdschema.TypeConverter(crd); err == nil {
				return tc
			}
		}
		// Without the schema's types, apply deduces them: lists are
		// atomic, none merges by key.
		return managedfields.NewDeducedTypeConverter()
	})}
}

func (a applyTypes) ObjectToTyped(obj runtime.Object, opts ...typed.ValidationOptions) (*typed.TypedValue, error) {
	return a.get().ObjectToTyped(obj, opts...)
}

func (a applyTypes) TypedToObject(v *typed.TypedValue) (runtime.Object, error) {
	return a.get().TypedToObject(v)
}
