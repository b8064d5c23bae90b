package schema

import (
	"fmt"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/controller/openapi/builder"
	"k8s.io/kube-openapi/pkg/handler"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// OpenAPIV2 returns what crd adds to /openapi/v2: the paths and
// definitions of every served version, with defaults pruned, as upstream's
// OpenAPI controller publishes them. Upstream publishes Established CRDs
// only. Merge the result into the static document with MergeV2.
func OpenAPIV2(crd *apiextensionsv1.CustomResourceDefinition) (*spec.Swagger, error) {
	merged := &spec.Swagger{}
	for _, v := range crd.Spec.Versions {
		if !v.Served {
			continue
		}
		s, err := builder.BuildOpenAPIV2(crd, v.Name, builder.Options{V2: true, IncludeSelectableFields: true})
		if err != nil {
			return nil, fmt.Errorf("openapi v2 of %s %s: %w", crd.Name, v.Name, err)
		}
		// The static document has its defaults pruned: so must ours, to
		// merge cleanly.
		s.Definitions = handler.PruneDefaults(s.Definitions)
		if merged, err = builder.MergeSpecs(merged, s); err != nil {
			return nil, fmt.Errorf("openapi v2 of %s %s: %w", crd.Name, v.Name, err)
		}
	}
	return merged, nil
}

// MergeV2 merges CRD documents (from OpenAPIV2) into the static
// /openapi/v2 document; the static document wins conflicts, as upstream's.
// Neither input is changed.
func MergeV2(static *spec.Swagger, crds ...*spec.Swagger) (*spec.Swagger, error) {
	return builder.MergeSpecs(static, crds...)
}

// OpenAPIV3 returns crd's OpenAPI 3.0 document for the group version
// /openapi/v3/apis/<group>/<version> (version must be served). Several
// CRDs may share a group version: merge their documents with MergeV3.
func OpenAPIV3(crd *apiextensionsv1.CustomResourceDefinition, version string) (*spec3.OpenAPI, error) {
	served := false
	for _, v := range crd.Spec.Versions {
		served = served || (v.Name == version && v.Served)
	}
	if !served {
		return nil, fmt.Errorf("openapi v3 of %s: version %q is not served", crd.Name, version)
	}
	doc, err := builder.BuildOpenAPIV3(crd, version, builder.Options{V2: false, IncludeSelectableFields: true})
	if err != nil {
		return nil, fmt.Errorf("openapi v3 of %s %s: %w", crd.Name, version, err)
	}
	return doc, nil
}

// MergeV3 merges the documents of the CRDs serving one group version into
// that group version's document.
func MergeV3(docs ...*spec3.OpenAPI) (*spec3.OpenAPI, error) {
	return builder.MergeSpecsV3(docs...)
}
