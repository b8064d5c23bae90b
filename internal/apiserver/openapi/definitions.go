package openapi

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsopenapi "k8s.io/apiextensions-apiserver/pkg/generated/openapi"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	apiregistrationopenapi "k8s.io/kube-aggregator/pkg/generated/openapi"
	"k8s.io/kube-openapi/pkg/common"

	"github.com/kemudi/kemudi/internal/apiserver/openapi/generated"
)

// definitions are the models of every served type: ours, generated from
// k8s.io/api, and apiextensions.k8s.io's and apiregistration.k8s.io's,
// which their modules ship.
func definitions(ref common.ReferenceCallback) map[string]common.OpenAPIDefinition {
	defs := generated.GetOpenAPIDefinitions(ref)
	for _, more := range []map[string]common.OpenAPIDefinition{apiextensionsopenapi.GetOpenAPIDefinitions(ref), apiregistrationopenapi.GetOpenAPIDefinitions(ref)} {
		for name, def := range more {
			if _, ok := defs[name]; !ok {
				defs[name] = def
			}
		}
	}
	return defs
}

// namerScheme knows the kinds of every served type, for
// x-kubernetes-group-version-kind.
func namerScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(apiextensionsv1.AddToScheme(s))
	utilruntime.Must(apiregistrationv1.AddToScheme(s))
	return s
}
