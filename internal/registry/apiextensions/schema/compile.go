package schema

import (
	"fmt"
	"sync"

	"k8s.io/apiextensions-apiserver/pkg/apihelpers"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/runtime/schema"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// Version is one served version of a CRD, compiled: what it takes to
// default, prune and validate its objects. Safe for concurrent use.
type Version struct {
	gvk schema.GroupVersionKind
	// preserveUnknownFields is the CRD-wide spec.preserveUnknownFields
	// (only CRDs created through v1beta1 have it): nothing is pruned.
	preserveUnknownFields bool
	// structural is nil when the version has no schema.
	structural      *structuralschema.Structural
	pruneRoot       *pruneNode // structural for the clean check; nil with an embedded resource
	features        features   // of structural
	validator       apiservervalidation.SchemaValidator
	create          *createValidator                    // validator's checks on create, prepared once
	valid           *validNode                          // says when create's checks would find nothing
	statusValidator apiservervalidation.SchemaValidator // nil without a status subresource
	cel             func() *cel.Validator               // upstream's, for updates: compiled on first use; nil without x-kubernetes-validations
	celCreate       *celCreate                          // the rules on create; nil without x-kubernetes-validations
	scale           *apiextensionsv1.CustomResourceSubresourceScale
}

// Compile prepares version name of crd: structural schema, defaults,
// pruning, CEL validators. It fails for a version the CRD does not define
// and for a schema upstream would not serve (not structural).
func Compile(crd *apiextensionsv1.CustomResourceDefinition, name string) (*Version, error) {
	if !hasVersion(crd, name) {
		return nil, fmt.Errorf("crd %s has no version %q", crd.Name, name)
	}
	// Objects are served under the names the CRD's status accepted, as
	// upstream serves them; before that, under the spec's.
	kind := crd.Status.AcceptedNames.Kind
	if kind == "" {
		kind = crd.Spec.Names.Kind
	}
	v := &Version{
		gvk:                   schema.GroupVersionKind{Group: crd.Spec.Group, Version: name, Kind: kind},
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
	if err := v.compileStructural(props); err != nil {
		return nil, fmt.Errorf("crd %s version %s: %w", crd.Name, name, err)
	}
	var openapiSchema *spec.Schema
	if v.validator, openapiSchema, err = apiservervalidation.NewSchemaValidator(props); err != nil {
		return nil, fmt.Errorf("crd %s version %s: openapi schema: %w", crd.Name, name, err)
	}
	v.create = newCreateValidator(openapiSchema)
	v.valid = newValidNode(openapiSchema)
	sub, err := apihelpers.GetSubresourcesForVersion(crd, name)
	if err != nil {
		return nil, fmt.Errorf("crd %s version %s: %w", crd.Name, name, err)
	}
	if sub != nil && sub.Status != nil && props != nil {
		if status, ok := props.Properties["status"]; ok {
			if v.statusValidator, _, err = apiservervalidation.NewSchemaValidator(&status); err != nil {
				return nil, fmt.Errorf("crd %s version %s: status schema: %w", crd.Name, name, err)
			}
		}
	}
	if sub != nil {
		v.scale = sub.Scale
	}
	return v, nil
}

// compileStructural builds the structural schema and the CEL validators.
func (v *Version) compileStructural(props *apiextensions.JSONSchemaProps) error {
	s, err := structuralOf(props, v.preserveUnknownFields)
	if err != nil || s == nil {
		return err
	}
	v.structural = s
	v.pruneRoot = newPruneRoot(s)
	v.features = featuresOf(s)
	if v.celCreate = newCELCreate(s, celconfig.PerCallLimit); v.celCreate != nil {
		v.cel = sync.OnceValue(func() *cel.Validator { return cel.NewValidator(s, true, celconfig.PerCallLimit) })
	}
	return nil
}

// structuralOf builds the structural schema with its defaults pruned (a
// default's unknown fields are dropped as upstream serves them); nil for
// no schema, or a non-structural one of a CRD that preserves unknown
// fields.
func structuralOf(props *apiextensions.JSONSchemaProps, preserveUnknownFields bool) (*structuralschema.Structural, error) {
	if props == nil {
		return nil, nil
	}
	s, err := structuralschema.NewStructural(props)
	if err == nil {
		// CRD validation refuses such schemas; a stored CRD may predate it.
		err = structuralschema.ValidateStructural(nil, s).ToAggregate()
	}
	if err != nil {
		if preserveUnknownFields {
			// Upstream serves such old CRDs without pruning or defaults.
			return nil, nil
		}
		return nil, fmt.Errorf("schema is not structural: %w", err)
	}
	if !preserveUnknownFields {
		// NewStructural shares defaults with props: copy before pruning them.
		s = s.DeepCopy()
		if err := structuraldefaulting.PruneDefaults(s); err != nil {
			return nil, fmt.Errorf("prune defaults: %w", err)
		}
	}
	return s, nil
}

// internalSchema converts a v1 schema to the internal type upstream's
// schema libraries take.
func internalSchema(in *apiextensionsv1.CustomResourceValidation) (*apiextensions.JSONSchemaProps, error) {
	if in == nil {
		return nil, nil
	}
	out := &apiextensions.CustomResourceValidation{}
	if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(in, out, nil); err != nil {
		return nil, fmt.Errorf("convert schema: %w", err)
	}
	return out.OpenAPIV3Schema, nil
}

func hasVersion(crd *apiextensionsv1.CustomResourceDefinition, name string) bool {
	for _, v := range crd.Spec.Versions {
		if v.Name == name {
			return true
		}
	}
	return false
}

// GroupVersionKind is the kind this version serves.
func (v *Version) GroupVersionKind() schema.GroupVersionKind { return v.gvk }
