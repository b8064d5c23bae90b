package schema

import (
	"testing"

	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
)

// TestFeatures: the walks a schema needs are found wherever upstream's
// walks look (properties, additionalProperties, items), so that none is
// skipped for a schema that needs it.
func TestFeatures(t *testing.T) {
	for _, c := range []struct {
		name   string
		schema string
		want   features
	}{
		{"plain", `{type: object, properties: {spec: {type: object, properties: {a: {type: string}}}}}`, features{}},
		{"default in a property", `{type: object, properties: {spec: {type: object, properties: {a: {type: string, default: x}}}}}`, features{defaults: true}},
		{"default under additionalProperties", `{type: object, properties: {spec: {type: object, additionalProperties: {type: object, properties: {a: {type: integer, default: 1}}}}}}`, features{defaults: true}},
		{"default in items", `{type: object, properties: {spec: {type: array, items: {type: object, properties: {a: {type: integer, default: 1}}}}}}`, features{defaults: true}},
		{"list set", `{type: object, properties: {spec: {type: array, x-kubernetes-list-type: set, items: {type: string}}}}`, features{listSetsMaps: true}},
		{"list map in items", `{type: object, properties: {spec: {type: array, items: {type: array, x-kubernetes-list-type: map, x-kubernetes-list-map-keys: [k], items: {type: object, required: [k], properties: {k: {type: string}}}}}}}`, features{listSetsMaps: true}},
		{"atomic list", `{type: object, properties: {spec: {type: array, x-kubernetes-list-type: atomic, items: {type: string}}}}`, features{}},
		{"embedded", `{type: object, properties: {spec: {type: object, properties: {t: {type: object, x-kubernetes-embedded-resource: true, x-kubernetes-preserve-unknown-fields: true}}}}}`, features{embedded: true}},
		{"the bench CRD", "", features{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			crd := loadCRD(t, "bench-crd.yaml")
			if c.schema != "" {
				crd = crdWithSchema(t, c.schema, false)
			}
			v, err := Compile(crd, "v1")
			if err != nil {
				t.Fatal(err)
			}
			if v.features != c.want {
				t.Errorf("features %+v, want %+v", v.features, c.want)
			}
		})
	}
	if f := featuresOf((*structuralschema.Structural)(nil)); f != (features{}) {
		t.Errorf("no schema: %+v", f)
	}
}
