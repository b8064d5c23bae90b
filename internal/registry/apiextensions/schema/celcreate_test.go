package schema

import (
	"context"
	"fmt"
	"sort"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
)

// TestCELCreateAsUpstream: our create walk over schemas built once gives
// upstream's cel.Validator errors for the same objects, budgets included.
func TestCELCreateAsUpstream(t *testing.T) {
	v := compile(t, "cel-rules-crd.yaml", "v1")
	upstream := cel.NewValidator(v.structural, true, celconfig.PerCallLimit)
	gizmo := func(name string, spec map[string]interface{}) map[string]interface{} {
		return map[string]interface{}{
			"apiVersion": "rules.example.com/v1", "kind": "Gizmo",
			"metadata": map[string]interface{}{"name": name, "namespace": "default"},
			"spec":     spec,
		}
	}
	tests := []struct {
		name   string
		obj    map[string]interface{}
		budget int64
	}{
		{name: "valid", obj: gizmo("g1", map[string]interface{}{"size": int64(1), "max": int64(2), "port": int64(8)})},
		{name: "root rule", obj: gizmo("x1", map[string]interface{}{"size": int64(1), "max": int64(2)})},
		{name: "message expression", obj: gizmo("g1", map[string]interface{}{"size": int64(5), "max": int64(2)})},
		{name: "message expression not a string", obj: gizmo("g1", map[string]interface{}{"size": int64(13), "max": int64(20)})},
		{name: "message expression blank", obj: gizmo("g1", map[string]interface{}{"size": int64(14), "max": int64(20)})},
		{name: "runtime error", obj: gizmo("g1", map[string]interface{}{"size": int64(15), "max": int64(20), "labels": map[string]interface{}{}})},
		{name: "reason and field path", obj: gizmo("g1", map[string]interface{}{"size": int64(3), "max": int64(20), "mode": "off"})},
		{name: "reason required", obj: gizmo("g1", map[string]interface{}{"size": int64(16), "max": int64(20)})},
		{name: "reason duplicate", obj: gizmo("g1", map[string]interface{}{"size": int64(17), "max": int64(20)})},
		{name: "int or string", obj: gizmo("g1", map[string]interface{}{"size": int64(1), "max": int64(2), "port": "http"})},
		{name: "int or string negative", obj: gizmo("g1", map[string]interface{}{"size": int64(1), "max": int64(2), "port": int64(-1)})},
		{name: "map values", obj: gizmo("g1", map[string]interface{}{"size": int64(1), "max": int64(2), "labels": map[string]interface{}{"a": "ok", "b": "much too long"}})},
		{name: "list items", obj: gizmo("g1", map[string]interface{}{"size": int64(1), "max": int64(2), "items": []interface{}{
			map[string]interface{}{"weight": int64(1), "name": "fine"},
			map[string]interface{}{"weight": int64(0), "name": "bad"},
		}})},
		{name: "embedded resource", obj: gizmo("g1", map[string]interface{}{"size": int64(1), "max": int64(2), "template": map[string]interface{}{
			"apiVersion": "v1", "kind": "Service", "metadata": map[string]interface{}{"name": "s"},
		}})},
		{name: "many errors", obj: gizmo("x", map[string]interface{}{"size": int64(30), "max": int64(2), "mode": "off", "port": "x", "labels": map[string]interface{}{"a": "much too long"}})},
		{name: "null spec", obj: gizmo("g1", nil)},
		{name: "no budget", obj: gizmo("g1", map[string]interface{}{"size": int64(1), "max": int64(2)}), budget: 0},
		{name: "small budget", obj: gizmo("x1", nil), budget: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			budget := tt.budget
			if budget == 0 && tt.name != "no budget" {
				budget = celconfig.RuntimeCELCostBudget
			}
			want, _ := upstream.Validate(context.Background(), nil, v.structural, runtime.DeepCopyJSON(tt.obj), nil, budget)
			got := v.celCreate.Validate(context.Background(), runtime.DeepCopyJSON(tt.obj), budget)
			if w, g := sortedErrors(want), sortedErrors(got); w != g {
				t.Errorf("errors differ from upstream's\n got: %s\nwant: %s", g, w)
			}
			if tt.name == "valid" && len(got) != 0 {
				t.Errorf("valid object: %v", got)
			}
			if tt.name != "valid" && len(want) == 0 {
				t.Errorf("case checks nothing: upstream finds no error")
			}
		})
	}
}

func sortedErrors(errs field.ErrorList) string {
	s := make([]string, len(errs))
	for i, e := range errs {
		s[i] = fmt.Sprintf("%s %s %#v %q", e.Type, e.Field, e.BadValue, e.Detail)
	}
	sort.Strings(s)
	return fmt.Sprint(s)
}
