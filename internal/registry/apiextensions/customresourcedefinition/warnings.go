package customresourcedefinition

import (
	"fmt"
	"sort"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apiserver/pkg/cel/environment"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// Warnings are what upstream warns about on a create (old nil) or update of
// a CRD: formats the schema validation does not know (they are not
// checked), and x-kubernetes-list-type: set over objects or lists (server-
// side apply and CEL cannot use it). An update warns only about what it
// adds.
func Warnings(crd, old *apiextensionsv1.CustomResourceDefinition) []string {
	in, err := toInternal(crd)
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	if old != nil {
		if oldIn, err := toInternal(old); err == nil {
			for _, w := range specWarnings(&oldIn.Spec) {
				seen[w] = true
			}
		}
	}
	var out []string
	for _, w := range specWarnings(&in.Spec) {
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// specWarnings lists the warnings of a spec: unrecognized formats, then
// list-type set warnings, as upstream orders them; each kind sorted (upstream
// lists formats in map order, which changes from one request to the next).
func specWarnings(s *apiextensions.CustomResourceDefinitionSpec) []string {
	compat := environment.DefaultCompatibilityVersion()
	var formats []string
	sets := map[string]bool{}
	visit := func(p *apiextensions.JSONSchemaProps) bool {
		if p.Format != "" {
			sch := &spec.Schema{SchemaProps: spec.SchemaProps{Format: p.Format, Type: []string{p.Type}}}
			for _, f := range apiservervalidation.GetUnrecognizedFormats(sch, compat) {
				formats = append(formats, fmt.Sprintf("unrecognized format %q", f))
			}
		}
		if p.XListType != nil && *p.XListType == "set" && p.Items != nil && p.Items.Schema != nil {
			switch t := p.Items.Schema.Type; t {
			case "object", "array":
				sets[fmt.Sprintf("x-kubernetes-list-type: set for items of type %q is not supported by server-side apply or CEL validation rules", t)] = true
			}
		}
		return false // visit every schema
	}
	if s.Validation != nil && s.Validation.OpenAPIV3Schema != nil {
		validation.SchemaHas(s.Validation.OpenAPIV3Schema, visit)
	}
	for _, v := range s.Versions {
		if v.Schema != nil && v.Schema.OpenAPIV3Schema != nil {
			validation.SchemaHas(v.Schema.OpenAPIV3Schema, visit)
		}
	}
	sort.Strings(formats)
	var setWarnings []string
	for w := range sets {
		setWarnings = append(setWarnings, w)
	}
	sort.Strings(setWarnings)
	return append(formats, setWarnings...)
}
