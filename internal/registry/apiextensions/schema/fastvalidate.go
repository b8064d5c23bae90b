package schema

import (
	"math"
	"regexp"
	"unicode/utf8"

	"k8s.io/kube-openapi/pkg/validation/spec"
)

// validNode answers, for the common schema keywords, whether
// kube-openapi's validator would find an object valid, without building
// its results (a Result per node, a validator per array item and map
// value: most of a create's allocations). It only ever says yes when
// kube-openapi would; for a keyword or a value it does not model, or an
// error, it says no, and the caller asks kube-openapi, so errors and
// their messages are upstream's.
type validNode struct {
	// unsupported: a keyword this does not model (allOf, anyOf, oneOf,
	// not, formats, multipleOf, uniqueItems, pattern properties, tuple
	// items, references, an enum of non-strings, no or several types).
	unsupported bool
	typ         string // string, boolean, integer, number, object, array
	nullable    bool

	maxLength, minLength *int64
	pattern              *regexp.Regexp
	enum                 map[string]bool // string enums; nil without enum

	maximum, minimum                   *float64
	exclusiveMaximum, exclusiveMinimum bool

	maxItems, minItems           *int64
	items                        *validNode // nil: items not validated
	maxProperties, minProperties *int64
	required                     []string
	properties                   map[string]*validNode
	// additional validates keys that are not properties (nil: not
	// validated); noAdditional refuses them (additionalProperties: false).
	additional   *validNode
	noAdditional bool
}

// newValidNode compiles s, the OpenAPI form of a version's schema.
func newValidNode(s *spec.Schema) *validNode {
	n := &validNode{
		nullable:  s.Nullable,
		maxLength: s.MaxLength, minLength: s.MinLength,
		maximum: s.Maximum, minimum: s.Minimum,
		exclusiveMaximum: s.ExclusiveMaximum, exclusiveMinimum: s.ExclusiveMinimum,
		maxItems: s.MaxItems, minItems: s.MinItems,
		maxProperties: s.MaxProperties, minProperties: s.MinProperties,
		required: s.Required,
	}
	if len(s.Type) != 1 || s.Format != "" || len(s.AllOf) > 0 || len(s.AnyOf) > 0 || len(s.OneOf) > 0 || s.Not != nil ||
		s.MultipleOf != nil || s.UniqueItems || len(s.PatternProperties) > 0 || len(s.Dependencies) > 0 ||
		s.AdditionalItems != nil || s.Ref.String() != "" {
		return &validNode{unsupported: true}
	}
	switch n.typ = s.Type[0]; n.typ {
	case "string", "boolean", "number", "object", "array":
	case "integer":
		// kube-openapi refuses every integer under a bound that is not
		// one ("Maximum boundary value must be of type integer").
		if !integral(s.Maximum) || !integral(s.Minimum) {
			return &validNode{unsupported: true}
		}
	default:
		return &validNode{unsupported: true}
	}
	if s.Pattern != "" {
		re, err := regexp.Compile(s.Pattern)
		if err != nil {
			return &validNode{unsupported: true}
		}
		n.pattern = re
	}
	if len(s.Enum) > 0 {
		n.enum = make(map[string]bool, len(s.Enum))
		for _, e := range s.Enum {
			str, ok := e.(string)
			if !ok {
				return &validNode{unsupported: true}
			}
			n.enum[str] = true
		}
	}
	if len(s.Properties) > 0 {
		n.properties = make(map[string]*validNode, len(s.Properties))
		for name := range s.Properties {
			prop := s.Properties[name]
			n.properties[name] = newValidNode(&prop)
		}
	}
	if a := s.AdditionalProperties; a != nil {
		switch {
		case !a.Allows:
			n.noAdditional = true
		case a.Schema != nil:
			n.additional = newValidNode(a.Schema)
		}
	}
	if it := s.Items; it != nil {
		if len(it.Schemas) > 0 || it.Schema == nil {
			return &validNode{unsupported: true}
		}
		n.items = newValidNode(it.Schema)
	}
	return n
}

// integral: no bound, or one that is an int64.
func integral(b *float64) bool {
	return b == nil || (*b == math.Trunc(*b) && *b >= -(1<<62) && *b <= 1<<62)
}

// valid reports whether kube-openapi would certainly find x valid under
// n (false: it may not; ask it).
func (n *validNode) valid(x interface{}) bool {
	if n.unsupported {
		return false
	}
	switch x := x.(type) {
	case nil:
		// kube-openapi checks a null's type and enum only.
		return n.nullable && n.enum == nil
	case string:
		return n.typ == "string" && n.validString(x)
	case bool:
		return n.typ == "boolean" && n.enum == nil
	case int64:
		return (n.typ == "integer" || n.typ == "number") && n.enum == nil && n.validInt(x)
	case float64:
		return n.typ == "number" && n.enum == nil && n.validFloat(x)
	case map[string]interface{}:
		return n.typ == "object" && n.enum == nil && n.validObject(x)
	case []interface{}:
		return n.typ == "array" && n.enum == nil && n.validArray(x)
	}
	return false
}

func (n *validNode) validString(s string) bool {
	if n.maxLength != nil || n.minLength != nil {
		l := int64(utf8.RuneCountInString(s))
		if (n.maxLength != nil && l > *n.maxLength) || (n.minLength != nil && l < *n.minLength) {
			return false
		}
	}
	if n.pattern != nil && !n.pattern.MatchString(s) {
		return false
	}
	return n.enum == nil || n.enum[s]
}

// validInt holds when the bounds hold both as kube-openapi compares an
// integer with a bound that is one (in int64) and with one that is not
// (in float64): whichever it picks, it agrees.
func (n *validNode) validInt(i int64) bool {
	if !n.validFloat(float64(i)) {
		return false
	}
	if m := n.maximum; m != nil {
		if b := int64(*m); i > b || (n.exclusiveMaximum && i == b) {
			return false
		}
	}
	if m := n.minimum; m != nil {
		if b := int64(*m); i < b || (n.exclusiveMinimum && i == b) {
			return false
		}
	}
	return true
}

func (n *validNode) validFloat(f float64) bool {
	if m := n.maximum; m != nil && (f > *m || (n.exclusiveMaximum && f == *m)) {
		return false
	}
	if m := n.minimum; m != nil && (f < *m || (n.exclusiveMinimum && f == *m)) {
		return false
	}
	return true
}

func (n *validNode) validObject(m map[string]interface{}) bool {
	size := int64(len(m))
	if (n.maxProperties != nil && size > *n.maxProperties) || (n.minProperties != nil && size < *n.minProperties) {
		return false
	}
	for _, r := range n.required {
		if _, ok := m[r]; !ok {
			return false
		}
	}
	for k, v := range m {
		p, ok := n.properties[k]
		switch {
		case ok:
			if !p.valid(v) {
				return false
			}
		case n.noAdditional:
			return false
		case n.additional != nil:
			if !n.additional.valid(v) {
				return false
			}
		}
	}
	return true
}

func (n *validNode) validArray(l []interface{}) bool {
	size := int64(len(l))
	if (n.maxItems != nil && size > *n.maxItems) || (n.minItems != nil && size < *n.minItems) {
		return false
	}
	if n.items != nil {
		for _, e := range l {
			if !n.items.valid(e) {
				return false
			}
		}
	}
	return true
}
