package policy

import (
	"context"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"

	"github.com/kemudi/kemudi/internal/registry/apiextensions/customresourcedefinition"
	crdschema "github.com/kemudi/kemudi/internal/registry/apiextensions/schema"
	"github.com/kemudi/kemudi/internal/storage"
)

// storedKind says where objects of a kind live in the store.
type storedKind struct {
	prefix     string
	namespaced bool
	resource   schema.GroupResource
	// version is the version a custom object is given when read (they
	// are stored in the CRD's storage version; the None conversion only
	// rewrites apiVersion); "" for built-in kinds.
	version schema.GroupVersion
}

// served returns obj as the kind's requested version.
func (k storedKind) served(obj runtime.Object) runtime.Object {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok || k.version.Empty() || u.GetAPIVersion() == k.version.String() {
		return obj
	}
	u = u.DeepCopy()
	u.SetAPIVersion(k.version.String())
	return u
}

// kind finds gvk among the built-in kinds, then among the kinds of the
// CustomResourceDefinitions in the cache (established, serving that
// version).
func (s *StoreReader) kind(ctx context.Context, gvk schema.GroupVersionKind) (storedKind, bool) {
	if r, ok := s.kinds[gvk]; ok {
		return storedKind{prefix: s.prefix(r), namespaced: r.Namespaced, resource: schema.GroupResource{Group: r.GroupVersion.Group, Resource: r.Resource}}, true
	}
	crd, ok := s.crdFor(ctx, gvk)
	if !ok {
		return storedKind{}, false
	}
	names := crd.Status.AcceptedNames
	return storedKind{
		prefix:     storage.Prefix + crd.Spec.Group + "/" + names.Plural + "/",
		namespaced: crd.Spec.Scope == apiextensionsv1.NamespaceScoped,
		resource:   schema.GroupResource{Group: crd.Spec.Group, Resource: names.Plural},
		version:    gvk.GroupVersion(),
	}, true
}

// crdFor returns the established CRD that serves gvk.
func (s *StoreReader) crdFor(ctx context.Context, gvk schema.GroupVersionKind) (*apiextensionsv1.CustomResourceDefinition, bool) {
	if gvk.Group == "" {
		return nil, false
	}
	res, err := s.store.List(ctx, storage.Prefix+customresourcedefinition.StoragePrefix+"/", storage.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return nil, false
	}
	for _, obj := range res.Items {
		crd, ok := obj.(*apiextensionsv1.CustomResourceDefinition)
		if !ok || crd.Spec.Group != gvk.Group || crd.Status.AcceptedNames.Kind != gvk.Kind || !established(crd) {
			continue
		}
		for _, v := range crd.Spec.Versions {
			if v.Name == gvk.Version && v.Served {
				return crd, true
			}
		}
	}
	return nil, false
}

func established(crd *apiextensionsv1.CustomResourceDefinition) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established {
			return c.Status == apiextensionsv1.ConditionTrue
		}
	}
	return false
}

// CustomTypes returns the type information of a custom kind's objects,
// from its CRD's schemas (Config.CustomTypes); nil when no CRD serves
// gvk or its schema does not convert. Built once per CRD version.
func (s *StoreReader) CustomTypes(gvk schema.GroupVersionKind) managedfields.TypeConverter {
	crd, ok := s.crdFor(context.Background(), gvk)
	if !ok {
		return nil
	}
	s.typesMu.Lock()
	defer s.typesMu.Unlock()
	if c, ok := s.types[crd.Name]; ok && c.rv == crd.ResourceVersion {
		return c.tc
	}
	tc, err := crdschema.TypeConverter(crd)
	if err != nil {
		tc = nil
	}
	if s.types == nil {
		s.types = map[string]cachedTypes{}
	}
	s.types[crd.Name] = cachedTypes{rv: crd.ResourceVersion, tc: tc}
	return tc
}

type cachedTypes struct {
	rv string
	tc managedfields.TypeConverter
}
