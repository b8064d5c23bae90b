package customresourcedefinition

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// WithoutSchemas is an informer transform (cache.TransformFunc) for
// controllers that read CRDs' names, versions and conditions but never
// their schemas: a decoded schema is most of a CRD's memory, and every
// informer would hold one copy per CRD. Status updates sent from such a
// copy are safe (the server keeps the stored spec); a full update must
// start from an object read from the API.
func WithoutSchemas(obj interface{}) (interface{}, error) {
	if crd, ok := obj.(*apiextensionsv1.CustomResourceDefinition); ok {
		for i := range crd.Spec.Versions {
			crd.Spec.Versions[i].Schema = nil
		}
	}
	return obj, nil
}
