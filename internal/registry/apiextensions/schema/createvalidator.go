package schema

import (
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/kube-openapi/pkg/validation/strfmt"
	"k8s.io/kube-openapi/pkg/validation/validate"
)

// createValidator checks an object on create as upstream's schema
// validator does (kube-openapi's validate.SchemaValidator from the root),
// with one difference in cost only: kube-openapi builds a validator for
// each property on every call, and this one builds those of the
// schema's properties once. Properties below an array or a map
// (additionalProperties), whose paths hold an index or a key, are built
// per call as upstream builds them. Safe for concurrent use: a
// validator is not changed by Validate.
type createValidator struct {
	root *validatorNode
}

// validatorNode is the validator of one schema node at one path, and
// those of its properties.
type validatorNode struct {
	sv         *validate.SchemaValidator
	path       string
	properties map[string]*validatorNode
}

var _ apiservervalidation.SchemaCreateValidator = (*createValidator)(nil)

// newCreateValidator prepares the validators of s (the OpenAPI form of a
// version's schema, as apiservervalidation.NewSchemaValidator returns it).
func newCreateValidator(s *spec.Schema) *createValidator {
	return &createValidator{root: newValidatorNode(s, s, "")}
}

func newValidatorNode(s *spec.Schema, root interface{}, path string) *validatorNode {
	n := &validatorNode{path: path}
	// A pattern property's validator is asked for under a property's
	// name too: such schemas (not a CRD's) are left to kube-openapi.
	if len(s.Properties) > 0 && len(s.PatternProperties) == 0 {
		n.properties = make(map[string]*validatorNode, len(s.Properties))
		for name := range s.Properties {
			prop := s.Properties[name]
			// kube-openapi names a property's path so (objectValidator).
			child := name
			if path != "" {
				child = path + "." + name
			}
			n.properties[name] = newValidatorNode(&prop, root, child)
		}
	}
	n.sv = validate.NewSchemaValidator(s, root, path, strfmt.Default, n.option)
	return n
}

// option makes the validator of n hand out its properties' validators.
func (n *validatorNode) option(o *validate.SchemaValidatorOptions) {
	o.NewValidatorForField = n.field
}

// field is kube-openapi's NewValidatorForField: the prepared validator of
// a property at its usual path, else a new one as kube-openapi's own.
func (n *validatorNode) field(name string, s *spec.Schema, root interface{}, path string, formats strfmt.Registry, opts ...validate.Option) validate.ValueValidator {
	if c := n.properties[name]; c != nil && c.path == path {
		return c.sv
	}
	return validate.NewSchemaValidator(s, root, path, formats, opts...)
}

// Validate is apiservervalidation.SchemaCreateValidator's.
func (v *createValidator) Validate(obj interface{}, _ ...apiservervalidation.ValidationOption) *validate.Result {
	return v.root.sv.Validate(obj)
}
