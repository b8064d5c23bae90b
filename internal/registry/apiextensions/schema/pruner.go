package schema

import (
	"fmt"

	"k8s.io/apiextensions-apiserver/pkg/apihelpers"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Pruner prunes the objects of one version of a CRD exactly as
// Version.Prune does, without compiling what pruning does not need
// (validators, CEL rules): what a request decoder needs to report the
// unknown fields of a body (field validation). Safe for concurrent use.
type Pruner struct {
	v *Version
}

// CompilePruner prepares version name of crd for pruning. It fails as
// Compile does for a version the CRD does not define or a schema that
// is not structural.
func CompilePruner(crd *apiextensionsv1.CustomResourceDefinition, name string) (*Pruner, error) {
	if !hasVersion(crd, name) {
		return nil, fmt.Errorf("crd %s has no version %q", crd.Name, name)
	}
	v := &Version{
		gvk:                   schema.GroupVersionKind{Group: crd.Spec.Group, Version: name},
		preserveUnknownFields: crd.Spec.PreserveUnknownFields,
	}
	validation, err := apihelpers.GetSchemaForVersion(crd, name)
	if err != nil {
		return nil, fmt.Errorf("crd %s version %s: %w", crd.Name, name, err)
	}
	props, err := internalSchema(validation)
	if err != nil {
		return nil, fmt.Errorf("crd %s version %s: %w", crd.Name, name, err)
	}
	if v.structural, err = structuralOf(props, v.preserveUnknownFields); err != nil {
		return nil, fmt.Errorf("crd %s version %s: %w", crd.Name, name, err)
	}
	v.pruneRoot = newPruneRoot(v.structural)
	return &Pruner{v: v}, nil
}

// Prune is Version.Prune: it drops the unknown fields of obj and returns
// their paths ("spec.foo", "metadata.bar").
func (p *Pruner) Prune(obj map[string]interface{}) (unknown []string, err error) {
	return p.v.Prune(obj)
}
