package schema

import (
	"fmt"
	"math/rand"
	"reflect"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// pruneSchema is a CRD whose schema has what pruning treats apart:
// nullable fields, defaults, additionalProperties, arrays of objects,
// preserved unknown fields (below and at an object), int-or-string.
const pruneSchema = `
type: object
properties:
  spec:
    type: object
    properties:
      name: {type: string}
      count: {type: integer, default: 1}
      maybe: {type: string, nullable: true}
      labels:
        type: object
        additionalProperties: {type: string}
      items:
        type: array
        items:
          type: object
          properties:
            a: {type: string}
            b: {type: integer}
      free:
        type: object
        x-kubernetes-preserve-unknown-fields: true
        properties:
          known: {type: string}
          inner:
            type: object
            properties:
              x: {type: string}
      port:
        x-kubernetes-int-or-string: true
  status:
    type: object
    properties:
      phase: {type: string}
`

// embeddedSchema has an embedded resource below the root: coercion
// acts there, so pruning always takes upstream's path.
const embeddedSchema = `
type: object
properties:
  spec:
    type: object
    properties:
      template:
        type: object
        x-kubernetes-embedded-resource: true
        x-kubernetes-preserve-unknown-fields: true
`

func crdWithSchema(t testing.TB, schemaYAML string, preserveUnknown bool) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	props := &apiextensionsv1.JSONSchemaProps{}
	if err := yaml.UnmarshalStrict([]byte(schemaYAML), props); err != nil {
		t.Fatal(err)
	}
	return &apiextensionsv1.CustomResourceDefinition{
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group:                 "test.example.com",
			Names:                 apiextensionsv1.CustomResourceDefinitionNames{Plural: "things", Kind: "Thing"},
			Scope:                 apiextensionsv1.NamespaceScoped,
			PreserveUnknownFields: preserveUnknown,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: props},
			}},
		},
	}
}

func cleanThing() map[string]interface{} {
	return map[string]interface{}{
		"apiVersion": "test.example.com/v1", "kind": "Thing",
		"metadata": map[string]interface{}{"name": "a", "namespace": "default",
			"labels": map[string]interface{}{"app": "x"}},
		"spec": map[string]interface{}{
			"name": "n", "count": int64(2), "maybe": nil,
			"labels": map[string]interface{}{"k": "v"},
			"items":  []interface{}{map[string]interface{}{"a": "x", "b": int64(1)}},
			"free":   map[string]interface{}{"known": "k", "other": map[string]interface{}{"deep": nil}, "inner": map[string]interface{}{"x": "y"}},
			"port":   "http",
		},
		"status": map[string]interface{}{"phase": "Running"},
	}
}

// TestPruneAsUpstream: Prune (which skips upstream's walks for an
// object they would not change) gives what upstream's pruning gives:
// the same object, the same unknown fields, the same error; and it
// does skip them for the objects it should.
func TestPruneAsUpstream(t *testing.T) {
	thing := crdWithSchema(t, pruneSchema, false)
	set := func(path []string, v interface{}) func(map[string]interface{}) {
		return func(o map[string]interface{}) {
			m := o
			for _, p := range path[:len(path)-1] {
				m = m[p].(map[string]interface{})
			}
			m[path[len(path)-1]] = v
		}
	}
	del := func(path ...string) func(map[string]interface{}) {
		return func(o map[string]interface{}) {
			m := o
			for _, p := range path[:len(path)-1] {
				m = m[p].(map[string]interface{})
			}
			delete(m, path[len(path)-1])
		}
	}
	cases := []struct {
		name    string
		crd     *apiextensionsv1.CustomResourceDefinition
		change  func(map[string]interface{})
		stored  bool
		skipped bool // upstream's walks are skipped
	}{
		{"clean create", thing, nil, false, true},
		{"clean, creationTimestamp null", thing, set([]string{"metadata", "creationTimestamp"}, nil), false, true},
		{"clean, creationTimestamp set", thing, set([]string{"metadata", "creationTimestamp"}, "2026-12-06T13:00:00Z"), false, true},
		{"creationTimestamp with fraction", thing, set([]string{"metadata", "creationTimestamp"}, "2026-12-06T13:00:00.5Z"), false, false},
		{"creationTimestamp not UTC", thing, set([]string{"metadata", "creationTimestamp"}, "2026-12-06T14:00:00+01:00"), false, false},
		{"creationTimestamp zero", thing, set([]string{"metadata", "creationTimestamp"}, "0001-01-01T00:00:00Z"), false, false},
		{"creationTimestamp malformed", thing, set([]string{"metadata", "creationTimestamp"}, "yesterday"), false, false},
		{"empty name", thing, set([]string{"metadata", "name"}, ""), false, false},
		{"name not a string", thing, set([]string{"metadata", "name"}, int64(3)), false, false},
		{"empty labels", thing, set([]string{"metadata", "labels"}, map[string]interface{}{}), false, false},
		{"label not a string", thing, set([]string{"metadata", "labels"}, map[string]interface{}{"a": int64(1)}), false, false},
		{"label invalid utf-8", thing, set([]string{"metadata", "labels"}, map[string]interface{}{"a": "\xff"}), false, false},
		{"unknown metadata field", thing, set([]string{"metadata", "colour"}, "red"), false, false},
		{"metadata Name", thing, set([]string{"metadata", "Name"}, "b"), false, false},
		{"metadata not an object", thing, set([]string{"metadata"}, "x"), false, false},
		{"metadata null", thing, set([]string{"metadata"}, nil), false, false},
		{"no metadata", thing, del("metadata"), false, true},
		{"owner references", thing, set([]string{"metadata", "ownerReferences"}, []interface{}{map[string]interface{}{"name": "o"}}), false, false},
		{"finalizers", thing, set([]string{"metadata", "finalizers"}, []interface{}{"a/b"}), false, true},
		{"generation", thing, set([]string{"metadata", "generation"}, int64(4)), false, true},
		{"generation float", thing, set([]string{"metadata", "generation"}, 4.0), false, false},
		{"stored without generation", thing, set([]string{"metadata", "creationTimestamp"}, "2026-12-06T13:00:00Z"), true, false},
		{"stored with generation", thing, func(o map[string]interface{}) {
			set([]string{"metadata", "generation"}, int64(1))(o)
			set([]string{"metadata", "creationTimestamp"}, "2026-12-06T13:00:00Z")(o)
		}, true, true},
		{"unknown spec field", thing, set([]string{"spec", "foo"}, "x"), false, false},
		{"unknown root field", thing, set([]string{"top"}, true), false, false},
		{"unknown in array item", thing, set([]string{"spec", "items"}, []interface{}{map[string]interface{}{"a": "x", "c": int64(1)}}), false, false},
		{"null of a non-nullable field", thing, set([]string{"spec", "name"}, nil), false, false},
		{"null of a defaulted field", thing, set([]string{"spec", "count"}, nil), false, true},
		{"null under additionalProperties", thing, set([]string{"spec", "labels", "k"}, nil), false, false},
		{"unknown under preserved", thing, set([]string{"spec", "free", "more"}, map[string]interface{}{"x": nil}), false, true},
		{"null of a known field under preserved", thing, set([]string{"spec", "free", "known"}, nil), false, false},
		{"unknown below a known field under preserved", thing, set([]string{"spec", "free", "inner", "z"}, "z"), false, false},
		{"kind null", thing, set([]string{"kind"}, nil), false, true},
		{"spec not an object", thing, set([]string{"spec"}, "x"), false, true},
		{"spec null", thing, set([]string{"spec"}, nil), false, false},
		{"embedded resource", crdWithSchema(t, embeddedSchema, false), func(o map[string]interface{}) {
			o["spec"] = map[string]interface{}{"template": map[string]interface{}{"metadata": map[string]interface{}{"name": "x"}}}
			delete(o, "status")
		}, false, false},
		{"preserveUnknownFields CRD", crdWithSchema(t, pruneSchema, true), set([]string{"spec", "foo"}, "x"), false, true},
		{"bench widget", loadCRD(t, "bench-crd.yaml"), func(o map[string]interface{}) {
			w := benchWidget(1)
			delete(w["spec"].(map[string]interface{}), "unknown")
			for k := range o {
				delete(o, k)
			}
			for k, v := range w {
				o[k] = v
			}
		}, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := Compile(c.crd, "v1")
			if err != nil {
				t.Fatal(err)
			}
			obj := cleanThing()
			if c.change != nil {
				c.change(obj)
			}
			got, want := runtime.DeepCopyJSON(obj), runtime.DeepCopyJSON(obj)
			var gotUnknown, wantUnknown []string
			var gotErr, wantErr error
			if c.stored {
				gotErr, wantErr = v.PruneStored(got), func() error { _, err := v.pruneUpstream(want, true); return err }()
			} else {
				gotUnknown, gotErr = v.Prune(got)
				wantUnknown, wantErr = v.pruneUpstream(want, false)
			}
			if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
				t.Errorf("error %v, upstream's %v", gotErr, wantErr)
			}
			if fmt.Sprint(sorted(gotUnknown)) != fmt.Sprint(sorted(wantUnknown)) {
				t.Errorf("unknown fields %v, upstream's %v", gotUnknown, wantUnknown)
			}
			if wantErr == nil && !reflect.DeepEqual(got, want) {
				t.Errorf("pruned to\n%#v\nupstream's\n%#v", got, want)
			}
			if skipped := v.pruneClean(runtime.DeepCopyJSON(obj), c.stored); skipped != c.skipped {
				t.Errorf("upstream's walks skipped: %v, want %v", skipped, c.skipped)
			}
			// A pruned object is clean: the second prune of a request is free.
			if c.skipped && !c.stored && !v.pruneClean(got, false) {
				t.Errorf("pruned object not clean: %#v", got)
			}
		})
	}
}

// TestPruneAsUpstreamRandom compares Prune with upstream's on objects
// made by random changes of a clean one.
func TestPruneAsUpstreamRandom(t *testing.T) {
	v, err := Compile(crdWithSchema(t, pruneSchema, false), "v1")
	if err != nil {
		t.Fatal(err)
	}
	values := []interface{}{nil, "s", "", int64(0), int64(7), 1.5, true, "2026-12-06T13:00:00Z",
		map[string]interface{}{}, map[string]interface{}{"a": "b"}, map[string]interface{}{"x": nil},
		[]interface{}{}, []interface{}{"a"}, []interface{}{map[string]interface{}{"a": "x", "z": nil}}}
	keys := []string{"name", "namespace", "labels", "annotations", "finalizers", "generation", "creationTimestamp",
		"uid", "colour", "spec", "status", "count", "maybe", "items", "free", "known", "inner", "x", "a", "b", "k", "port", "kind", "metadata"}
	rnd := rand.New(rand.NewSource(1))
	skipped := 0
	for i := 0; i < 5000; i++ {
		obj := cleanThing()
		for n := rnd.Intn(3); n >= 0; n-- {
			// Pick a random map in obj and set a random key.
			m := obj
			for depth := rnd.Intn(4); depth > 0; depth-- {
				var maps []map[string]interface{}
				for _, e := range m {
					if c, ok := e.(map[string]interface{}); ok {
						maps = append(maps, c)
					}
				}
				if len(maps) == 0 {
					break
				}
				m = maps[rnd.Intn(len(maps))]
			}
			m[keys[rnd.Intn(len(keys))]] = runtime.DeepCopyJSONValue(values[rnd.Intn(len(values))])
		}
		got, want := runtime.DeepCopyJSON(obj), runtime.DeepCopyJSON(obj)
		if v.pruneClean(runtime.DeepCopyJSON(obj), false) {
			skipped++
		}
		gotUnknown, gotErr := v.Prune(got)
		wantUnknown, wantErr := v.pruneUpstream(want, false)
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || fmt.Sprint(sorted(gotUnknown)) != fmt.Sprint(sorted(wantUnknown)) ||
			(wantErr == nil && !reflect.DeepEqual(got, want)) {
			t.Fatalf("object %#v:\nprune gave %#v, %v, %v\nupstream's %#v, %v, %v", obj, got, gotUnknown, gotErr, want, wantUnknown, wantErr)
		}
	}
	if skipped == 0 {
		t.Error("no random object was clean: the comparison did not test the fast path")
	}
	t.Logf("%d of 5000 objects skipped upstream's walks", skipped)
}
