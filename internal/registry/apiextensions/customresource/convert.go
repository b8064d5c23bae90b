package customresource

import (
	"context"
	"fmt"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kemudi/kemudi/internal/registry"
)

// noneConversion converts between a served version and the storage
// version by rewriting apiVersion, upstream's None strategy, then prunes
// what the target version's schema does not know, as upstream's
// converter does after every conversion: a field only one version
// declares is not shown by the other, and is not stored from it. served
// is the served version's compiled schema.
func noneConversion(crd *apiextensionsv1.CustomResourceDefinition, served, storage schema.GroupVersion, servedSchema lazySchema) *registry.Convert {
	storageSchema := newLazySchema(crd, storage.Version)
	rewrite := func(obj runtime.Object, to schema.GroupVersion, target lazySchema) (runtime.Object, error) {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return nil, fmt.Errorf("custom object is %T, not Unstructured", obj)
		}
		out := u.DeepCopy()
		out.SetAPIVersion(to.String())
		// A schema that does not compile prunes nothing, as it validates
		// nothing (schemaHooks).
		if s, err := target(); err == nil {
			if err := s.PruneStored(out.Object); err != nil {
				return nil, fmt.Errorf("prune %s: %w", to, err)
			}
		}
		return out, nil
	}
	return &registry.Convert{
		ToStorage: func(_ context.Context, obj runtime.Object) (runtime.Object, error) {
			return rewrite(obj, storage, storageSchema)
		},
		FromStorage: func(_ context.Context, obj runtime.Object) (runtime.Object, error) {
			return rewrite(obj, served, servedSchema)
		},
	}
}
