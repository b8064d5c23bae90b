package schema

import (
	"time"
	"unicode/utf8"

	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
)

// pruneNode is a structural schema node as pruning sees it, with its
// children by pointer: upstream's pruning, null pruning and coercion
// copy a node's Structural (some hundred bytes) for every property of
// every object they walk, which made a create's pruning cost more than
// its validation.
type pruneNode struct {
	props map[string]*pruneNode
	// additional is additionalProperties' schema, when hasAdditional
	// (nil: anything under such a key is unknown).
	additional    *pruneNode
	hasAdditional bool
	items         *pruneNode
	preserve      bool // x-kubernetes-preserve-unknown-fields
	// embedded is set on the root only (it is a resource, as upstream's
	// pruning treats it): its apiVersion, kind and metadata are not
	// the schema's to prune.
	embedded bool
	// dropsNull: a null of this field is dropped (not nullable, no
	// default).
	dropsNull bool
}

// newPruneNode compiles s for the clean check; it returns nil, false
// when s has an embedded resource below the root: coercion acts there,
// and such objects take upstream's path.
func newPruneNode(s *structuralschema.Structural) (*pruneNode, bool) {
	if s == nil {
		return nil, true
	}
	if s.XEmbeddedResource {
		return nil, false
	}
	n := &pruneNode{
		preserve:  s.XPreserveUnknownFields,
		dropsNull: !s.Nullable && s.Default.Object == nil,
	}
	if len(s.Properties) > 0 {
		n.props = make(map[string]*pruneNode, len(s.Properties))
		for name := range s.Properties {
			prop := s.Properties[name]
			c, ok := newPruneNode(&prop)
			if !ok {
				return nil, false
			}
			n.props[name] = c
		}
	}
	if s.AdditionalProperties != nil {
		n.hasAdditional = true
		c, ok := newPruneNode(s.AdditionalProperties.Structural)
		if !ok {
			return nil, false
		}
		n.additional = c
	}
	var ok bool
	if n.items, ok = newPruneNode(s.Items); !ok {
		return nil, false
	}
	return n, true
}

// newPruneRoot compiles the root of a version's schema; nil when the
// clean check does not apply to it.
func newPruneRoot(s *structuralschema.Structural) *pruneNode {
	if s == nil || s.XEmbeddedResource {
		return nil
	}
	root, ok := newPruneNode(s)
	if !ok {
		return nil
	}
	root.embedded = true
	return root
}

// child is the schema of key k of an object of n, and whether it has
// one.
func (n *pruneNode) child(k string) (*pruneNode, bool) {
	if c, ok := n.props[k]; ok {
		return c, true
	}
	return n.additional, n.hasAdditional
}

func isMetaField(k string) bool { return k == "apiVersion" || k == "kind" || k == "metadata" }

// clean reports whether upstream's pruning of x under n (pruning of
// unknown fields, then of non-nullable nulls without defaults) would
// change nothing. It mirrors pruning.prune and
// defaulting.PruneNonNullableNullsWithoutDefaults, reading only.
func (n *pruneNode) clean(x interface{}) bool {
	if n != nil && n.preserve {
		return n.cleanPreserved(x)
	}
	switch x := x.(type) {
	case map[string]interface{}:
		if n == nil {
			return len(x) == 0
		}
		for k, v := range x {
			if n.embedded && isMetaField(k) {
				continue
			}
			c, ok := n.child(k)
			if !ok || (v == nil && c != nil && c.dropsNull) || !c.clean(v) {
				return false
			}
		}
	case []interface{}:
		var items *pruneNode
		if n != nil {
			items = n.items
		}
		for _, v := range x {
			if !items.clean(v) {
				return false
			}
		}
	}
	return true
}

// cleanPreserved is clean under x-kubernetes-preserve-unknown-fields
// (upstream's skipPrune): unknown fields stay, known ones are pruned.
func (n *pruneNode) cleanPreserved(x interface{}) bool {
	if n == nil {
		return true
	}
	switch x := x.(type) {
	case map[string]interface{}:
		for k, v := range x {
			if n.embedded && isMetaField(k) {
				continue
			}
			c, ok := n.child(k)
			if !ok {
				continue
			}
			if (v == nil && c != nil && c.dropsNull) || !c.clean(v) {
				return false
			}
		}
	case []interface{}:
		for _, v := range x {
			if !n.items.cleanPreserved(v) {
				return false
			}
		}
	}
	return true
}

// metadataState is what upstream's ObjectMeta round trip (decode
// metadata as metav1.ObjectMeta, encode it back) would do to an object's
// metadata.
type metadataState int

const (
	// metadataOther: the round trip may change it; take it.
	metadataOther metadataState = iota
	// metadataSame: the round trip gives it back unchanged.
	metadataSame
	// metadataNullTimestamp: the same, less "creationTimestamp": null
	// (a zero creationTimestamp is omitted), which Go clients send.
	metadataNullTimestamp
)

// readMetadata tells, for metadata made of the fields clients send on
// create (names, labels, annotations, finalizers, uid, resourceVersion,
// generation, creationTimestamp) in the form a round trip gives them,
// what the round trip does to it; anything else is metadataOther.
// Such metadata has no unknown fields and decodes without error. stored
// is PruneStored's round trip, which also sets a zero generation to 1.
func readMetadata(md interface{}, stored bool) metadataState {
	m, ok := md.(map[string]interface{})
	if !ok {
		return metadataOther
	}
	state := metadataSame
	for k, v := range m {
		switch k {
		case "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion":
			// Empty strings are omitted.
			if s, ok := v.(string); !ok || s == "" || !utf8.ValidString(s) {
				return metadataOther
			}
		case "generation":
			if g, ok := v.(int64); !ok || g == 0 {
				return metadataOther
			}
		case "creationTimestamp":
			if v == nil {
				state = metadataNullTimestamp
			} else if !canonicalTime(v) {
				return metadataOther
			}
		case "labels", "annotations":
			if !nonEmptyStringMap(v) {
				return metadataOther
			}
		case "finalizers":
			if !nonEmptyStringList(v) {
				return metadataOther
			}
		default:
			return metadataOther
		}
	}
	if stored {
		if _, ok := m["generation"]; !ok {
			return metadataOther
		}
	}
	return state
}

// canonicalTime: a time as metav1.Time encodes it (RFC 3339, UTC,
// whole seconds), not the zero time (which is omitted).
func canonicalTime(v interface{}) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	t, err := time.Parse(time.RFC3339, s)
	return err == nil && !t.IsZero() && t.UTC().Format(time.RFC3339) == s
}

func nonEmptyStringMap(v interface{}) bool {
	m, ok := v.(map[string]interface{})
	if !ok || len(m) == 0 {
		return false
	}
	for k, e := range m {
		s, ok := e.(string)
		if !ok || !utf8.ValidString(k) || !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

func nonEmptyStringList(v interface{}) bool {
	l, ok := v.([]interface{})
	if !ok || len(l) == 0 {
		return false
	}
	for _, e := range l {
		s, ok := e.(string)
		if !ok || !utf8.ValidString(s) {
			return false
		}
	}
	return true
}
