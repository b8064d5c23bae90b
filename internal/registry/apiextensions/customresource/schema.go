package customresource

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
	crdschema "github.com/kemudi/kemudi/internal/registry/apiextensions/schema"
)

// schemaHooks apply a version's compiled schema to custom objects: every
// decoded request object is pruned of unknown fields and defaulted, then
// validated (the whole object on create and update, status on /status).
func schemaHooks(v *crdschema.Version) (registry.Hooks, registry.StatusHooks) {
	content := func(obj runtime.Object) map[string]interface{} {
		if u, ok := obj.(*unstructured.Unstructured); ok {
			return u.Object
		}
		return nil
	}
	hooks := registry.Hooks{
		Default: func(obj runtime.Object) {
			if o := content(obj); o != nil {
				// Malformed metadata is left for the ObjectMeta
				// validation to report.
				_, _ = v.Prune(o)
				v.Default(o)
			}
		},
		Validate: func(ctx context.Context, obj runtime.Object) field.ErrorList {
			return v.Validate(ctx, content(obj), nil)
		},
		ValidateUpdate: func(ctx context.Context, obj, old runtime.Object) field.ErrorList {
			return v.Validate(ctx, content(obj), content(old))
		},
	}
	status := registry.StatusHooks{
		ValidateUpdate: func(ctx context.Context, obj, old runtime.Object) field.ErrorList {
			return v.ValidateStatus(ctx, content(obj), content(old))
		},
	}
	return hooks, status
}
