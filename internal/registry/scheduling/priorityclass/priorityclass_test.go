package priorityclass

import (
	"context"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func errKeys(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Field+": "+e.Type.String())
	}
	return out
}

func high() *schedulingv1.PriorityClass {
	return &schedulingv1.PriorityClass{
		ObjectMeta:  metav1.ObjectMeta{Name: "high-priority"},
		Value:       1000000,
		Description: "For the frontend.",
	}
}

func TestDefault(t *testing.T) {
	pc := high()
	Resource().Hooks.Default(pc)
	if pc.PreemptionPolicy == nil || *pc.PreemptionPolicy != corev1.PreemptLowerPriority {
		t.Errorf("preemptionPolicy %v", pc.PreemptionPolicy)
	}
	never := corev1.PreemptNever
	pc = high()
	pc.PreemptionPolicy = &never
	Resource().Hooks.Default(pc)
	if *pc.PreemptionPolicy != corev1.PreemptNever {
		t.Error("set policy overwritten")
	}
}

func TestPrepareForCreate(t *testing.T) {
	pc := high()
	Resource().Hooks.PrepareForCreate(context.Background(), pc)
	if pc.Generation != 1 {
		t.Errorf("generation %d", pc.Generation)
	}
}

func TestValidate(t *testing.T) {
	empty, bogus := corev1.PreemptionPolicy(""), corev1.PreemptionPolicy("Always")
	cases := []struct {
		name   string
		modify func(*schedulingv1.PriorityClass)
		want   []string
	}{
		{name: "valid", modify: func(*schedulingv1.PriorityClass) {}},
		{name: "negative", modify: func(pc *schedulingv1.PriorityClass) { pc.Value = -10 }},
		{name: "global default", modify: func(pc *schedulingv1.PriorityClass) { pc.GlobalDefault = true }},
		{name: "highest user value", modify: func(pc *schedulingv1.PriorityClass) { pc.Value = 1000000000 }},
		{name: "above user range", modify: func(pc *schedulingv1.PriorityClass) { pc.Value = 1000000001 }, want: []string{"value: Forbidden"}},
		{name: "system name", modify: func(pc *schedulingv1.PriorityClass) { pc.Name = "system-high" }, want: []string{"metadata.name: Forbidden"}},
		{name: "system class with wrong value", modify: func(pc *schedulingv1.PriorityClass) { pc.Name = SystemNodeCritical }, want: []string{"metadata.name: Forbidden"}},
		{name: "system class", modify: func(pc *schedulingv1.PriorityClass) { pc.Name, pc.Value = SystemClusterCritical, 2000000000 }},
		{name: "system class as default", modify: func(pc *schedulingv1.PriorityClass) {
			pc.Name, pc.Value, pc.GlobalDefault = SystemClusterCritical, 2000000000, true
		}, want: []string{"metadata.name: Forbidden"}},
		{name: "empty policy", modify: func(pc *schedulingv1.PriorityClass) { pc.PreemptionPolicy = &empty }, want: []string{"preemptionPolicy: Required value"}},
		{name: "bad policy", modify: func(pc *schedulingv1.PriorityClass) { pc.PreemptionPolicy = &bogus }, want: []string{"preemptionPolicy: Unsupported value"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pc := high()
			Resource().Hooks.Default(pc)
			tc.modify(pc)
			got := errKeys(Resource().Hooks.Validate(context.Background(), pc))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSystemClassesAreValid(t *testing.T) {
	classes := SystemClasses()
	if len(classes) != 2 {
		t.Fatalf("%d system classes", len(classes))
	}
	values := map[string]int32{}
	for i := range classes {
		pc := &classes[i]
		Resource().Hooks.Default(pc)
		if errs := Resource().Hooks.Validate(context.Background(), pc); len(errs) != 0 {
			t.Errorf("%s: %v", pc.Name, errs)
		}
		if !IsSystemClass(pc.Name) {
			t.Errorf("%s not a system class", pc.Name)
		}
		values[pc.Name] = pc.Value
	}
	if values["system-cluster-critical"] != 2000000000 || values["system-node-critical"] != 2000001000 {
		t.Errorf("values %v", values)
	}
	if IsSystemClass("high-priority") {
		t.Error("user class reported as system")
	}
}

func TestValidateUpdate(t *testing.T) {
	old := high()
	Resource().Hooks.Default(old)
	pc := old.DeepCopy()
	pc.Description = "changed"
	pc.GlobalDefault = true
	if errs := Resource().Hooks.ValidateUpdate(context.Background(), pc, old); len(errs) != 0 {
		t.Errorf("mutable fields rejected: %v", errs)
	}
	never := corev1.PreemptNever
	pc.Value = 5
	pc.PreemptionPolicy = &never
	got := errKeys(Resource().Hooks.ValidateUpdate(context.Background(), pc, old))
	if want := []string{"value: Forbidden", "preemptionPolicy: Invalid value"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestTable(t *testing.T) {
	tab := Resource().Table
	var cols []string
	for _, c := range tab.Columns {
		cols = append(cols, c.Name+":"+c.Type)
	}
	if want := []string{"Name:string", "Value:integer", "Global-Default:boolean", "Age:string", "PreemptionPolicy:string"}; !reflect.DeepEqual(cols, want) {
		t.Errorf("columns %v", cols)
	}
	pc := high()
	Resource().Hooks.Default(pc)
	row, _ := tab.Row(pc)
	if want := []interface{}{"high-priority", int64(1000000), false, "<unknown>", "PreemptLowerPriority"}; !reflect.DeepEqual(row, want) {
		t.Errorf("row %v, want %v", row, want)
	}
}
