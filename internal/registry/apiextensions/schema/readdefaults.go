package schema

import (
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
)

// defaultsTree is the part of a structural schema that leads to defaults:
// only the properties, items and additional properties with a default at
// or below them. Reads of stored objects walk it to learn whether an
// object lacks a default, reading only (the storage cache's objects are
// shared), and without visiting the parts of the object no default
// concerns.
type defaultsTree struct {
	// set: this node has a default; nullable: a null here is a value.
	set, nullable bool
	props         map[string]*defaultsTree
	additional    *defaultsTree
	items         *defaultsTree
}

// newDefaultsTree is nil when s sets no default at or below it.
func newDefaultsTree(s *structuralschema.Structural) *defaultsTree {
	if s == nil {
		return nil
	}
	t := &defaultsTree{set: s.Default.Object != nil, nullable: s.Nullable}
	for name := range s.Properties {
		p := s.Properties[name]
		if c := newDefaultsTree(&p); c != nil {
			if t.props == nil {
				t.props = map[string]*defaultsTree{}
			}
			t.props[name] = c
		}
	}
	if s.AdditionalProperties != nil {
		t.additional = newDefaultsTree(s.AdditionalProperties.Structural)
	}
	t.items = newDefaultsTree(s.Items)
	if !t.set && t.props == nil && t.additional == nil && t.items == nil {
		return nil
	}
	return t
}

// lacks is what makes upstream's structural defaulting change x: a
// property with a default that is missing, or null where null is not a
// value (for properties, additional properties and items alike).
func (t *defaultsTree) lacks(x interface{}) bool {
	switch x := x.(type) {
	case map[string]interface{}:
		for name, c := range t.props {
			v, found := x[name]
			if c.set && (!found || (v == nil && !c.nullable)) {
				return true
			}
			if found && c.lacks(v) {
				return true
			}
		}
		// A structural schema has properties or additional properties,
		// never both.
		if a := t.additional; a != nil {
			for _, v := range x {
				if (v == nil && a.set && !a.nullable) || a.lacks(v) {
					return true
				}
			}
		}
	case []interface{}:
		if it := t.items; it != nil {
			for _, v := range x {
				if (v == nil && it.set && !it.nullable) || it.lacks(v) {
					return true
				}
			}
		}
	}
	return false
}

// StoredDefaults fills a version's defaults into objects read from
// storage, which may predate a default added to the schema since.
type StoredDefaults struct {
	v    *Version
	tree *defaultsTree
}

// StoredDefaults returns nil when the schema sets no default. It walks
// the schema: call it once per compiled version.
func (v *Version) StoredDefaults() *StoredDefaults {
	tree := newDefaultsTree(v.structural)
	if tree == nil {
		return nil
	}
	return &StoredDefaults{v: v, tree: tree}
}

// Lacks reports whether Default would change obj. It only reads obj, so
// that a read copies an object only when it lacks a default.
func (d *StoredDefaults) Lacks(obj map[string]interface{}) bool {
	return obj != nil && d.tree.lacks(obj)
}

// Default sets the schema's defaults in obj, as Version.Default.
func (d *StoredDefaults) Default(obj map[string]interface{}) { d.v.Default(obj) }
