package schema

import (
	"fmt"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/controller/openapi/builder"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// TypeConverter returns the type information server-side apply and
// managed fields need for crd's objects, in every version: list types and
// map keys (x-kubernetes-list-type, -list-map-keys), map and struct
// atomicity, as upstream builds it from the CRD's OpenAPI (of every
// version, served or not). Objects of a CRD with spec.preserveUnknownFields
// are typed as far as the schema goes.
func TypeConverter(crd *apiextensionsv1.CustomResourceDefinition) (_ managedfields.TypeConverter, err error) {
	// Upstream's builder names things after the accepted names and panics
	// without them (a CRD not yet named by the naming controller): the
	// requested names stand in.
	if crd.Status.AcceptedNames.Kind == "" {
		crd = crd.DeepCopy()
		crd.Status.AcceptedNames = crd.Spec.Names
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("apply types of %s: %v", crd.Name, r)
		}
	}()
	models := map[string]*spec.Schema{}
	for _, v := range crd.Spec.Versions {
		doc, err := builder.BuildOpenAPIV3(crd, v.Name, builder.Options{})
		if err != nil {
			return nil, fmt.Errorf("apply types of %s %s: %w", crd.Name, v.Name, err)
		}
		if doc.Components == nil {
			continue
		}
		for name, s := range doc.Components.Schemas {
			models[name] = s
		}
	}
	tc, err := managedfields.NewTypeConverter(models, crd.Spec.PreserveUnknownFields)
	if err != nil {
		return nil, fmt.Errorf("apply types of %s: %w", crd.Name, err)
	}
	return tc, nil
}
