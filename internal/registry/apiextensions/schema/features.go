package schema

import structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"

// features are what a schema has that upstream's defaulting, list type
// and embedded resource walks act on: without it, those walks find
// nothing to do in any object, and are skipped.
type features struct {
	defaults     bool // a default
	listSetsMaps bool // x-kubernetes-list-type set or map
	embedded     bool // x-kubernetes-embedded-resource
}

// featuresOf looks through s as those walks do: properties,
// additionalProperties and items.
func featuresOf(s *structuralschema.Structural) features {
	var f features
	f.add(s)
	return f
}

func (f *features) add(s *structuralschema.Structural) {
	if s == nil {
		return
	}
	f.defaults = f.defaults || s.Default.Object != nil
	f.listSetsMaps = f.listSetsMaps || (s.XListType != nil && (*s.XListType == "set" || *s.XListType == "map"))
	f.embedded = f.embedded || s.XEmbeddedResource
	for name := range s.Properties {
		prop := s.Properties[name]
		f.add(&prop)
	}
	if s.AdditionalProperties != nil {
		f.add(s.AdditionalProperties.Structural)
	}
	f.add(s.Items)
}
