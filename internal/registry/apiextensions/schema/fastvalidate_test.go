package schema

import (
	"fmt"
	"math/rand"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/runtime"
)

// validateSchema uses every keyword validNode models, and some it does
// not (int-or-string's anyOf, a format, multipleOf, uniqueItems).
const validateSchema = `
type: object
properties:
  spec:
    type: object
    required: [name]
    maxProperties: 12
    properties:
      name: {type: string, minLength: 2, maxLength: 5, pattern: '^[a-zé]+$'}
      colour: {type: string, enum: [red, green]}
      count: {type: integer, minimum: 1, maximum: 10, exclusiveMaximum: true}
      ratio: {type: number, minimum: 0.5, maximum: 2.5}
      whole: {type: number, minimum: -3, maximum: 3}
      big: {type: integer, maximum: 10.5}
      flag: {type: boolean}
      maybe: {type: string, nullable: true}
      tags:
        type: array
        minItems: 1
        maxItems: 2
        items: {type: string, maxLength: 3}
      labels:
        type: object
        minProperties: 1
        additionalProperties: {type: string, maxLength: 4}
      closed:
        type: object
        additionalProperties: false
        properties:
          a: {type: integer}
      port:
        x-kubernetes-int-or-string: true
      when: {type: string, format: date-time}
      step: {type: integer, multipleOf: 2}
      set:
        type: array
        x-kubernetes-list-type: set
        items: {type: string}
`

// TestValidAsUpstream: whenever validNode calls an object valid,
// upstream's validator finds no error in it; and it does call the
// valid objects it models so.
func TestValidAsUpstream(t *testing.T) {
	v, err := Compile(crdWithSchema(t, validateSchema, false), "v1")
	if err != nil {
		t.Fatal(err)
	}
	obj := func(spec map[string]interface{}) map[string]interface{} {
		return map[string]interface{}{"apiVersion": "test.example.com/v1", "kind": "Thing",
			"metadata": map[string]interface{}{"name": "a"}, "spec": spec}
	}
	for _, c := range []struct {
		name  string
		spec  map[string]interface{}
		valid bool // upstream finds no error
		fast  bool // validNode says so
	}{
		{"minimal", map[string]interface{}{"name": "ab"}, true, true},
		{"all modelled", map[string]interface{}{"name": "abé", "colour": "red", "count": int64(9), "ratio": 2.5, "whole": int64(3),
			"flag": true, "maybe": nil, "tags": []interface{}{"a", "bcd"}, "labels": map[string]interface{}{"k": "v"},
			"closed": map[string]interface{}{"a": int64(1)}}, true, true},
		{"missing required", map[string]interface{}{"colour": "red"}, false, false},
		{"too short", map[string]interface{}{"name": "a"}, false, false},
		{"too long in runes", map[string]interface{}{"name": "éééééé"}, false, false},
		{"five runes, more bytes", map[string]interface{}{"name": "ééééé"}, true, true},
		{"pattern", map[string]interface{}{"name": "AB"}, false, false},
		{"enum", map[string]interface{}{"name": "ab", "colour": "blue"}, false, false},
		{"exclusive maximum", map[string]interface{}{"name": "ab", "count": int64(10)}, false, false},
		{"below minimum", map[string]interface{}{"name": "ab", "count": int64(0)}, false, false},
		{"integer as float", map[string]interface{}{"name": "ab", "count": 2.0}, true, false},
		{"number as integer", map[string]interface{}{"name": "ab", "ratio": int64(1)}, true, true},
		{"number above float bound", map[string]interface{}{"name": "ab", "ratio": 2.6}, false, false},
		{"integer under a fractional bound", map[string]interface{}{"name": "ab", "big": int64(10)}, false, false},
		{"integer over a fractional bound", map[string]interface{}{"name": "ab", "big": int64(11)}, false, false},
		{"string for integer", map[string]interface{}{"name": "ab", "count": "3"}, false, false},
		{"null of a non-nullable", map[string]interface{}{"name": "ab", "flag": nil}, false, false},
		{"too many items", map[string]interface{}{"name": "ab", "tags": []interface{}{"a", "b", "c"}}, false, false},
		{"no items", map[string]interface{}{"name": "ab", "tags": []interface{}{}}, false, false},
		{"item too long", map[string]interface{}{"name": "ab", "tags": []interface{}{"abcd"}}, false, false},
		{"additional value too long", map[string]interface{}{"name": "ab", "labels": map[string]interface{}{"k": "vvvvv"}}, false, false},
		{"too few properties", map[string]interface{}{"name": "ab", "labels": map[string]interface{}{}}, false, false},
		{"not allowed property", map[string]interface{}{"name": "ab", "closed": map[string]interface{}{"b": int64(1)}}, false, false},
		{"unknown field (pruned before)", map[string]interface{}{"name": "ab", "other": int64(1)}, true, true},
		{"int-or-string", map[string]interface{}{"name": "ab", "port": "http"}, true, false},
		{"format", map[string]interface{}{"name": "ab", "when": "2026-12-06T13:00:00Z"}, true, false},
		{"multipleOf", map[string]interface{}{"name": "ab", "step": int64(4)}, true, false},
		{"Go int, not int64", map[string]interface{}{"name": "ab", "count": 3}, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := obj(c.spec)
			errs := apiservervalidation.ValidateCustomResource(nil, o, v.create)
			if (len(errs) == 0) != c.valid {
				t.Fatalf("upstream's errors %v, want valid %v (the case is wrong)", errs, c.valid)
			}
			if fast := v.valid.valid(o); fast != c.fast {
				t.Errorf("validNode says valid %v, want %v", fast, c.fast)
			}
			// Validate answers as upstream's validator does.
			if got := v.Validate(t.Context(), o, nil); (len(got) == 0) != (len(errs) == 0) {
				t.Errorf("Validate: %v; upstream's validator: %v", got, errs)
			}
		})
	}
}

// TestValidAsUpstreamRandom: on random objects, validNode never calls
// valid what upstream's validator refuses.
func TestValidAsUpstreamRandom(t *testing.T) {
	v, err := Compile(crdWithSchema(t, validateSchema, false), "v1")
	if err != nil {
		t.Fatal(err)
	}
	values := []interface{}{nil, "", "a", "ab", "abé", "red", "blue", "AB", "éééééé", "abcd", int64(-4), int64(0), int64(1),
		int64(3), int64(9), int64(10), int64(11), 0.4, 0.5, 1.0, 2.5, 2.6, 3.0, true, false,
		[]interface{}{}, []interface{}{"a"}, []interface{}{"a", "b", "c"}, []interface{}{int64(1)},
		map[string]interface{}{}, map[string]interface{}{"a": int64(1)}, map[string]interface{}{"k": "vvvvv"}, map[string]interface{}{"b": "x"}}
	keys := []string{"name", "colour", "count", "ratio", "whole", "big", "flag", "maybe", "tags", "labels", "closed", "other", "a", "k"}
	rnd := rand.New(rand.NewSource(1))
	fast := 0
	for i := 0; i < 20000; i++ {
		spec := map[string]interface{}{}
		if rnd.Intn(4) > 0 {
			spec["name"] = "ab"
		}
		for n := rnd.Intn(3); n >= 0; n-- {
			spec[keys[rnd.Intn(len(keys))]] = runtime.DeepCopyJSONValue(values[rnd.Intn(len(values))])
		}
		o := map[string]interface{}{"apiVersion": "test.example.com/v1", "kind": "Thing", "spec": spec}
		if !v.valid.valid(o) {
			continue
		}
		fast++
		if errs := apiservervalidation.ValidateCustomResource(nil, o, v.create); len(errs) > 0 {
			t.Fatalf("validNode called %#v valid; upstream: %v", o, errs)
		}
	}
	if fast == 0 {
		t.Fatal("validNode called no random object valid: the comparison tested nothing")
	}
	t.Logf("%d of 20000 random objects valid by validNode", fast)
}

// updateSchema has OpenAPI constraints and CEL rules without oldSelf.
const updateSchema = `
type: object
properties:
  spec:
    type: object
    x-kubernetes-validations:
    - rule: "self.size <= self.max"
      message: "size exceeds max"
    properties:
      size: {type: integer, maximum: 100}
      max: {type: integer}
      name: {type: string, maxLength: 3}
`

// upstreamOnly is v with the fast paths off: every check by upstream's
// validators.
func upstreamOnly(v *Version) *Version {
	u := *v
	u.valid = &validNode{unsupported: true}
	if v.celCreate != nil {
		c := *v.celCreate
		c.oldSelf = true
		u.celCreate = &c
	}
	return &u
}

// TestValidateUpdateAsUpstream: an update's errors are upstream's
// (ratcheting included) with the fast paths on.
func TestValidateUpdateAsUpstream(t *testing.T) {
	thing := crdWithSchema(t, updateSchema, false)
	gizmos := loadCRD(t, "cel-rules-crd.yaml")
	obj := func(kind string, spec map[string]interface{}) map[string]interface{} {
		group := "test.example.com/v1"
		if kind == "Gizmo" {
			group = "rules.example.com/v1"
		}
		return map[string]interface{}{"apiVersion": group, "kind": kind,
			"metadata": map[string]interface{}{"name": "g1"}, "spec": spec}
	}
	spec := func(size, max int64, name string) map[string]interface{} {
		return map[string]interface{}{"size": size, "max": max, "name": name}
	}
	gizmo := func(size, max int64) map[string]interface{} {
		return map[string]interface{}{"size": size, "max": max}
	}
	for _, c := range []struct {
		name     string
		crd      *apiextensionsv1.CustomResourceDefinition
		old, obj map[string]interface{}
		errs     int
		fast     bool // the OpenAPI check passes, no rule uses oldSelf
	}{
		{"valid to valid", thing, obj("Thing", spec(1, 5, "a")), obj("Thing", spec(2, 5, "b")), 0, true},
		{"valid to invalid schema", thing, obj("Thing", spec(1, 5, "a")), obj("Thing", spec(1, 5, "abcd")), 2, false},
		{"invalid unchanged (ratcheted)", thing, obj("Thing", spec(1, 5, "abcd")), obj("Thing", spec(2, 5, "abcd")), 0, false},
		{"rule broken by the update", thing, obj("Thing", spec(1, 5, "a")), obj("Thing", spec(6, 5, "a")), 1, true},
		{"rule broken before, its object changed", thing, obj("Thing", spec(6, 5, "a")), obj("Thing", spec(6, 5, "b")), 1, true},
		{"rule broken before, unchanged (ratcheted)", thing, obj("Thing", spec(6, 5, "a")), obj("Thing", spec(6, 5, "a")), 0, true},
		{"above maximum, rules not run", thing, obj("Thing", spec(1, 5, "a")), obj("Thing", spec(101, 5, "a")), 2, false},
		{"transition rule holds", gizmos, obj("Gizmo", gizmo(1, 5)), obj("Gizmo", gizmo(1, 5)), 0, false},
		{"transition rule broken", gizmos, obj("Gizmo", gizmo(1, 5)), obj("Gizmo", gizmo(2, 5)), 1, false},
		{"optional old self broken", gizmos, obj("Gizmo", gizmo(3, 5)), obj("Gizmo", gizmo(2, 5)), 2, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, err := Compile(c.crd, "v1")
			if err != nil {
				t.Fatal(err)
			}
			got := v.Validate(t.Context(), c.obj, c.old)
			want := upstreamOnly(v).Validate(t.Context(), c.obj, c.old)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("errors %v, upstream's %v", got, want)
			}
			if len(want) != c.errs {
				t.Errorf("upstream's errors %v, want %d (the case is wrong)", want, c.errs)
			}
			if fast := v.valid.valid(c.obj) && !v.celCreate.oldSelf; fast != c.fast {
				t.Errorf("fast paths answer: %v, want %v", fast, c.fast)
			}
		})
	}
}
