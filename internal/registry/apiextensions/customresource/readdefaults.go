package customresource

import (
	"strings"
	"sync"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	crdschema "github.com/kemudi/kemudi/internal/registry/apiextensions/schema"
)

// readDefaults is the DefaultOnRead hook of a CRD's resources: an object
// read from storage gets the defaults of the schema of the version it is
// stored in (upstream's storage decoder defaults the same way, so a
// default added to a CRD shows on objects stored before it). Nil when no
// version's schema has a default: reads then cost nothing. served is the
// endpoint's own compiled schema, shared when it is that version's.
func readDefaults(crd *apiextensionsv1.CustomResourceDefinition, served string, compiled lazySchema) func(runtime.Object) runtime.Object {
	byVersion := map[string]func() *crdschema.StoredDefaults{}
	for _, v := range crd.Spec.Versions {
		if v.Schema == nil || !hasDefault(v.Schema.OpenAPIV3Schema) {
			continue
		}
		c := compiled
		if v.Name != served {
			c = newLazySchema(crd, v.Name)
		}
		byVersion[v.Name] = sync.OnceValue(func() *crdschema.StoredDefaults {
			s, err := c()
			if err != nil {
				return nil
			}
			return s.StoredDefaults()
		})
	}
	if len(byVersion) == 0 {
		return nil
	}
	return func(obj runtime.Object) runtime.Object {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return obj
		}
		apiVersion, _ := u.Object["apiVersion"].(string)
		defaults, ok := byVersion[apiVersion[strings.LastIndexByte(apiVersion, '/')+1:]]
		if !ok {
			return obj
		}
		d := defaults()
		if d == nil || !d.Lacks(u.Object) {
			return obj
		}
		out := u.DeepCopy()
		d.Default(out.Object)
		return out
	}
}

// hasDefault reports whether a schema sets a default anywhere. Defaults
// live only where structural schemas allow them: in properties, items
// and additional properties.
func hasDefault(s *apiextensionsv1.JSONSchemaProps) bool {
	if s == nil {
		return false
	}
	if s.Default != nil {
		return true
	}
	for name := range s.Properties {
		p := s.Properties[name]
		if hasDefault(&p) {
			return true
		}
	}
	if s.Items != nil {
		if hasDefault(s.Items.Schema) {
			return true
		}
		for i := range s.Items.JSONSchemas {
			if hasDefault(&s.Items.JSONSchemas[i]) {
				return true
			}
		}
	}
	return s.AdditionalProperties != nil && hasDefault(s.AdditionalProperties.Schema)
}
