package apiserver

import (
	"fmt"
	"sync"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	crdschema "github.com/kemudi/kemudi/internal/registry/apiextensions/schema"
)

// unknownFields finds the unknown fields of a CRD version's objects for
// field validation, as upstream's decoder does: the fields pruning drops
// (those the schema does not know, unless it preserves unknown fields)
// and the unknown fields of metadata, the root's and embedded
// resources'. Its pruner is compiled on first use: a CRD whose objects
// are only read never pays for it.
type unknownFields struct {
	pruner func() (*crdschema.Pruner, error)
}

func newUnknownFields(crd *apiextensionsv1.CustomResourceDefinition, version string) *unknownFields {
	return &unknownFields{pruner: sync.OnceValues(func() (*crdschema.Pruner, error) {
		return crdschema.CompilePruner(crd, version)
	})}
}

// unknownFieldErrors prunes obj, a custom object of ep decoded from a
// request body as kind gvk, and returns its unknown fields as strict
// decoding errors (`unknown field "spec.foo"`). Other objects have none;
// nor has an object of another kind (the request fails on that), one
// whose metadata is malformed (its validation says so) or one of a CRD
// served without its schema.
func unknownFieldErrors(ep *endpoint, gvk schema.GroupVersionKind, obj runtime.Object) []error {
	if ep.custom == nil || ep.custom.unknown == nil || gvk != ep.gvk {
		return nil
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return nil
	}
	p, err := ep.custom.unknown.pruner()
	if err != nil {
		return nil
	}
	paths, err := p.Prune(u.Object)
	if err != nil {
		return nil
	}
	errs := make([]error, len(paths))
	for i, path := range paths {
		errs[i] = fmt.Errorf("unknown field %q", path)
	}
	return errs
}
