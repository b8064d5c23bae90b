package schema

import (
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/model"
	"k8s.io/apiserver/pkg/cel/common"
)

// celSchema is the schema CEL values are typed by (common.Schema) over a
// structural schema, as upstream's model.Structural, but built once:
// model.Structural copies a node's properties into a new map on every
// field access of a rule, which was a third of a custom object create's
// allocations.
type celSchema struct {
	*model.Structural
	properties map[string]common.Schema
	items      common.Schema
	additional common.SchemaOrBool
}

var _ common.Schema = (*celSchema)(nil)

func newCELSchema(s *structuralschema.Structural) *celSchema {
	c := &celSchema{Structural: &model.Structural{Structural: s}}
	if s.Properties != nil {
		c.properties = make(map[string]common.Schema, len(s.Properties))
		for name := range s.Properties {
			prop := s.Properties[name]
			c.properties[name] = newCELSchema(&prop)
		}
	}
	if s.Items != nil {
		c.items = newCELSchema(s.Items)
	}
	if s.AdditionalProperties != nil {
		a := &celSchemaOrBool{allows: s.AdditionalProperties.Bool}
		if s.AdditionalProperties.Structural != nil {
			a.schema = newCELSchema(s.AdditionalProperties.Structural)
		}
		c.additional = a
	}
	return c
}

// Properties is model.Structural's, built once; callers only read it.
func (c *celSchema) Properties() map[string]common.Schema { return c.properties }

// Items is model.Structural's, built once.
func (c *celSchema) Items() common.Schema {
	if c.items == nil {
		return nil
	}
	return c.items
}

// AdditionalProperties is model.Structural's, built once.
func (c *celSchema) AdditionalProperties() common.SchemaOrBool {
	if c.additional == nil {
		return nil
	}
	return c.additional
}

type celSchemaOrBool struct {
	schema *celSchema
	allows bool
}

func (b *celSchemaOrBool) Schema() common.Schema {
	if b.schema == nil {
		return nil
	}
	return b.schema
}

func (b *celSchemaOrBool) Allows() bool { return b.allows }
