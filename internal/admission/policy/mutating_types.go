package policy

import (
	"sync"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	extapplyconfigurations "k8s.io/apiextensions-apiserver/pkg/client/applyconfiguration"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/applyconfigurations"
)

// typeConverters give apply configurations the type information they
// merge with: client-go's for the k8s.io/api kinds, apiextensions' for
// its own, the CRD's schema for custom kinds (custom, when given), and
// types deduced from the object when nothing better is known. Built on
// first use: parsing the models takes a while.
type typeConverters struct {
	builtIn func() managedfields.TypeConverter
	ext     func() managedfields.TypeConverter
	custom  func(schema.GroupVersionKind) managedfields.TypeConverter
	deduced managedfields.TypeConverter
}

func newTypeConverters(scheme *runtime.Scheme, custom func(schema.GroupVersionKind) managedfields.TypeConverter) *typeConverters {
	return &typeConverters{
		builtIn: sync.OnceValue(func() managedfields.TypeConverter { return applyconfigurations.NewTypeConverter(scheme) }),
		ext:     sync.OnceValue(func() managedfields.TypeConverter { return extapplyconfigurations.NewTypeConverter(scheme) }),
		custom:  custom,
		deduced: managedfields.NewDeducedTypeConverter(),
	}
}

// forKind returns the converter for objects of gvk; builtIn says whether
// the scheme knows the kind.
func (t *typeConverters) forKind(gvk schema.GroupVersionKind, builtIn bool) managedfields.TypeConverter {
	switch {
	case gvk.Group == apiextensionsv1.GroupName:
		return t.ext()
	case builtIn:
		return t.builtIn()
	case t.custom != nil:
		if tc := t.custom(gvk); tc != nil {
			return tc
		}
	}
	return t.deduced
}
