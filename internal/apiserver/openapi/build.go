package openapi

import (
	"fmt"
	"strings"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	openapi_v3 "github.com/google/gnostic-models/openapiv3"
	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/builder"
	"k8s.io/kube-openapi/pkg/builder3"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"

	"github.com/kemudi/kemudi/internal/registry"
)

// namerFor indexes the kinds of the group versions the resources serve,
// and those their subresources read and write (autoscaling/v1 Scale,
// policy/v1 Eviction...).
func namerFor(resources []*registry.Resource) *namer {
	gvs := map[schema.GroupVersion]bool{}
	for _, r := range resources {
		gvs[r.GroupVersion] = true
		if r.Scale != nil {
			gvs[schema.GroupVersion{Group: "autoscaling", Version: "v1"}] = true
		}
		for _, a := range r.Actions {
			gvs[kindOf(a.New()).GroupVersion()] = true
		}
	}
	// client-go's scheme knows every k8s.io/api group version;
	// apiextensions.k8s.io comes from its own module.
	return newNamer(namerScheme(), gvs)
}

// buildV2JSON generates the swagger 2.0 document of the resources from
// the generated definitions and returns it in JSON. The spec tree is
// garbage once it returns.
func buildV2JSON(resources []*registry.Resource) ([]byte, error) {
	sw, err := buildV2(services(resources), namerFor(resources))
	if err != nil {
		return nil, err
	}
	b, err := sw.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("openapi v2: %w", err)
	}
	return b, nil
}

// v2Proto converts the v2 JSON document to gnostic's protobuf encoding,
// which kubectl asks for.
func v2Proto(doc []byte) ([]byte, error) {
	d, err := openapi_v2.ParseDocument(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi v2 protobuf: %w", err)
	}
	return proto.Marshal(d)
}

// buildV3JSON generates one v3 document per web service, by path
// ("api/v1", "apis/apps/v1", "apis/apps", "version", ...), in JSON.
func buildV3JSON(resources []*registry.Resource) (map[string][]byte, error) {
	n := namerFor(resources)
	// The v3 definitions refer to each other under #/components/schemas.
	defs := definitions(func(name string) spec.Ref {
		friendly, _ := n.definitionName(name)
		return spec.MustCreateRef("#/components/schemas/" + common.EscapeJsonPointer(friendly))
	})
	out := map[string][]byte{}
	for _, svc := range services(resources) {
		v3, err := builder3.BuildOpenAPISpecFromRoutes([]common.RouteContainer{svc}, v3Config(n.forDocument(svc.gv), defs))
		if err != nil {
			return nil, fmt.Errorf("openapi v3 %s: %w", svc.root, err)
		}
		b, err := v3.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("openapi v3 %s: %w", svc.root, err)
		}
		out[strings.TrimPrefix(svc.root, "/")] = b
	}
	return out, nil
}

func operationIDAndTagsFromRoute(r common.Route) (string, []string, error) {
	rt, ok := r.(*route)
	if !ok {
		return "", nil, fmt.Errorf("unexpected route type %T", r)
	}
	return rt.operationID, rt.tags, nil
}

// buildV2 builds the swagger 2.0 document as kube-apiserver configures
// its builder: https only, bearer token security, 401 on every operation.
func buildV2(svcs []*service, n *namer) (*spec.Swagger, error) {
	containers := make([]common.RouteContainer, len(svcs))
	for i, s := range svcs {
		containers[i] = s
	}
	cfg := &common.Config{
		ProtocolList: []string{"https"},
		Info:         &spec.Info{InfoProps: spec.InfoProps{Title: "Kubernetes", Version: "unversioned"}},
		DefaultResponse: &spec.Response{ResponseProps: spec.ResponseProps{
			Description: "Default Response.",
		}},
		CommonResponses: map[int]spec.Response{
			401: {ResponseProps: spec.ResponseProps{Description: "Unauthorized"}},
		},
		GetDefinitions:                 definitions,
		GetDefinitionName:              n.definitionName,
		GetOperationIDAndTagsFromRoute: operationIDAndTagsFromRoute,
		SecurityDefinitions: &spec.SecurityDefinitions{
			"BearerToken": &spec.SecurityScheme{SecuritySchemeProps: spec.SecuritySchemeProps{
				Type:        "apiKey",
				Name:        "authorization",
				In:          "header",
				Description: "Bearer Token authentication",
			}},
		},
		DefaultSecurity: []map[string][]string{{"BearerToken": {}}},
		PostProcessSpec: pruneDefaults,
	}
	sw, err := builder.BuildOpenAPISpecFromRoutes(containers, cfg)
	if err != nil {
		return nil, fmt.Errorf("openapi v2: %w", err)
	}
	return sw, nil
}

func v3Config(name func(string) (string, spec.Extensions), defs map[string]common.OpenAPIDefinition) *common.OpenAPIV3Config {
	return &common.OpenAPIV3Config{
		Info: &spec.Info{InfoProps: spec.InfoProps{Title: "Kubernetes", Version: "unversioned"}},
		DefaultResponse: &spec3.Response{ResponseProps: spec3.ResponseProps{
			Description: "Default Response.",
		}},
		CommonResponses: map[int]*spec3.Response{
			401: {ResponseProps: spec3.ResponseProps{Description: "Unauthorized"}},
		},
		Definitions:                    defs,
		GetDefinitionName:              name,
		GetOperationIDAndTagsFromRoute: operationIDAndTagsFromRoute,
		SecuritySchemes: spec3.SecuritySchemes{
			"BearerToken": &spec3.SecurityScheme{SecuritySchemeProps: spec3.SecuritySchemeProps{
				Type:        "apiKey",
				Name:        "authorization",
				In:          "header",
				Description: "Bearer Token authentication",
			}},
		},
	}
}

// v3Proto converts a v3 JSON document to gnostic's protobuf encoding.
func v3Proto(doc []byte) ([]byte, error) {
	d, err := openapi_v3.ParseDocument(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi v3 protobuf: %w", err)
	}
	return proto.Marshal(d)
}
