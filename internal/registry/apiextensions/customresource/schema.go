package customresource

import (
	"context"
	"sync"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
	crdschema "github.com/kemudi/kemudi/internal/registry/apiextensions/schema"
)

// lazySchema is a version's compiled schema, compiled on first use: the
// structural schema, validators and CEL programs of a CRD whose objects
// are never written cost nothing, and installing many CRDs at once does
// not compile them all (upstream, likewise, builds a CRD's serving
// information on the first request for its resource).
type lazySchema func() (*crdschema.Version, error)

func newLazySchema(crd *apiextensionsv1.CustomResourceDefinition, version string) lazySchema {
	return sync.OnceValues(func() (*crdschema.Version, error) { return crdschema.Compile(crd, version) })
}

// schemaHooks apply a version's schema to custom objects: every decoded
// request object is pruned of unknown fields and defaulted, then
// validated (the whole object on create and update, status on /status).
// A schema that does not compile (validation refuses such a CRD; one
// stored before is served without its schema rather than not at all)
// leaves only the scale subresource's checks.
func schemaHooks(compiled lazySchema, v apiextensionsv1.CustomResourceDefinitionVersion) (registry.Hooks, registry.StatusHooks) {
	content := func(obj runtime.Object) map[string]interface{} {
		if u, ok := obj.(*unstructured.Unstructured); ok {
			return u.Object
		}
		return nil
	}
	hooks := registry.Hooks{
		Default: func(obj runtime.Object) {
			s, err := compiled()
			if o := content(obj); o != nil && err == nil {
				// Malformed metadata is left for the ObjectMeta
				// validation to report.
				_, _ = s.Prune(o)
				s.Default(o)
			}
		},
		Validate: func(ctx context.Context, obj runtime.Object) field.ErrorList {
			s, err := compiled()
			if err != nil {
				return validateScale(v, obj.(*unstructured.Unstructured))
			}
			return s.Validate(ctx, content(obj), nil)
		},
		ValidateUpdate: func(ctx context.Context, obj, old runtime.Object) field.ErrorList {
			s, err := compiled()
			if err != nil {
				return validateScale(v, obj.(*unstructured.Unstructured))
			}
			return s.Validate(ctx, content(obj), content(old))
		},
	}
	status := registry.StatusHooks{
		Meta: registry.StatusMetaAllStored,
		ValidateUpdate: func(ctx context.Context, obj, old runtime.Object) field.ErrorList {
			s, err := compiled()
			if err != nil {
				return nil
			}
			return s.ValidateStatus(ctx, content(obj), content(old))
		},
	}
	return hooks, status
}
