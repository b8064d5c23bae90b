package openapi

import (
	apiextensionsopenapi "k8s.io/apiextensions-apiserver/pkg/generated/openapi"
	"k8s.io/kube-openapi/pkg/common"

	"github.com/kemudi/kemudi/internal/apiserver/openapi/generated"
)

// definitions are the models of every served type: ours, generated from
// k8s.io/api, and apiextensions.k8s.io's, which its module ships.
func definitions(ref common.ReferenceCallback) map[string]common.OpenAPIDefinition {
	defs := generated.GetOpenAPIDefinitions(ref)
	for name, def := range apiextensionsopenapi.GetOpenAPIDefinitions(ref) {
		if _, ok := defs[name]; !ok {
			defs[name] = def
		}
	}
	return defs
}
