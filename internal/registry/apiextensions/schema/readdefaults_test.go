package schema

import (
	"reflect"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// defaultsCRD has defaults at the root, in nested objects, in list items
// and in additional properties, nullable and not.
const defaultsCRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          a: {type: string, default: A}
          nb: {type: string, nullable: true, default: N}
          plain: {type: string}
          spec:
            type: object
            properties:
              size: {type: integer, default: 3}
              ports:
                type: array
                items:
                  type: object
                  properties:
                    protocol: {type: string, default: TCP}
                    port: {type: integer}
              labels:
                type: object
                additionalProperties: {type: string, default: x}
              untouched:
                type: object
                properties:
                  s: {type: string}
`

func compileYAML(t testing.TB, doc, version string) *Version {
	t.Helper()
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.UnmarshalStrict([]byte(doc), crd); err != nil {
		t.Fatal(err)
	}
	v, err := Compile(crd, version)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestStoredDefaults: Lacks says exactly when Default would change a
// stored object, and never changes it.
func TestStoredDefaults(t *testing.T) {
	d := compileYAML(t, defaultsCRD, "v1").StoredDefaults()
	if d == nil {
		t.Fatal("no StoredDefaults for a schema with defaults")
	}
	full := `{"a":"A","nb":null,"spec":{"size":3}}`
	for _, tc := range []struct {
		name  string
		obj   string
		lacks bool
	}{
		{"everything defaulted", full, false},
		{"a root default missing", `{"nb":"N","spec":{"size":3}}`, true},
		{"a nullable default that is null", `{"a":"A","nb":null}`, false},
		{"a nullable default missing", `{"a":"A"}`, true},
		{"a non-nullable null", `{"a":null,"nb":"N"}`, true},
		{"a nested default missing", `{"a":"A","nb":"N","spec":{}}`, true},
		{"a nested object missing altogether", `{"a":"A","nb":"N"}`, false},
		{"an item lacks a default", `{"a":"A","nb":"N","spec":{"size":1,"ports":[{"protocol":"UDP","port":53},{"port":80}]}}`, true},
		{"items all defaulted", `{"a":"A","nb":"N","spec":{"size":1,"ports":[{"protocol":"UDP","port":53}]}}`, false},
		{"a null additional property", `{"a":"A","nb":"N","spec":{"size":1,"labels":{"k":null}}}`, true},
		{"additional properties set", `{"a":"A","nb":"N","spec":{"size":1,"labels":{"k":"v"}}}`, false},
		{"a part of no default", `{"a":"A","nb":"N","spec":{"size":1,"untouched":{"s":"z"}},"plain":"p"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := obj(t, tc.obj)
			before := runtime.DeepCopyJSON(o)
			if got := d.Lacks(o); got != tc.lacks {
				t.Errorf("Lacks = %v, want %v", got, tc.lacks)
			}
			if !reflect.DeepEqual(o, before) {
				t.Fatal("Lacks changed the object")
			}
			d.Default(o)
			if changed := !reflect.DeepEqual(o, before); changed != tc.lacks {
				t.Errorf("Default changed the object: %v, Lacks said %v (%v)", changed, tc.lacks, o)
			}
		})
	}
}

func TestStoredDefaultsNone(t *testing.T) {
	const noDefaults = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: plains.example.com}
spec:
  group: example.com
  names: {plural: plains, singular: plain, kind: Plain}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {a: {type: string}}}
`
	if d := compileYAML(t, noDefaults, "v1").StoredDefaults(); d != nil {
		t.Errorf("StoredDefaults of a schema without defaults: %v, want nil", d)
	}
}

// BenchmarkStoredDefaultsLacks is what a read of a stored object that
// lacks nothing costs when its schema has defaults.
func BenchmarkStoredDefaultsLacks(b *testing.B) {
	d := compileYAML(b, defaultsCRD, "v1").StoredDefaults()
	o := obj(b, `{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w","namespace":"default","labels":{"app":"x"}},`+
		`"a":"A","nb":"N","plain":"p","spec":{"size":1,"ports":[{"protocol":"UDP","port":53},{"protocol":"TCP","port":80}],"labels":{"k":"v"},"untouched":{"s":"z"}}}`)
	b.ReportAllocs()
	for b.Loop() {
		if d.Lacks(o) {
			b.Fatal("lacks")
		}
	}
}
