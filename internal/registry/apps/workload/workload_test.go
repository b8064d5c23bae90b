package workload

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestIntOrPercent(t *testing.T) {
	p := field.NewPath("x")
	tests := []struct {
		v       intstr.IntOrString
		value   int
		valid   bool
		over100 bool
	}{
		{intstr.FromInt32(3), 3, true, false},
		{intstr.FromInt32(0), 0, true, false},
		{intstr.FromInt32(-1), -1, false, false},
		{intstr.FromString("25%"), 25, true, false},
		{intstr.FromString("100%"), 100, true, false},
		{intstr.FromString("101%"), 101, true, true},
		{intstr.FromString("25"), 0, false, false},
		{intstr.FromString("-5%"), 0, false, false},
		{intstr.FromString("abc%"), 0, false, false},
	}
	for _, tt := range tests {
		if got := IntOrPercentValue(tt.v); got != tt.value {
			t.Errorf("IntOrPercentValue(%s) = %d, want %d", tt.v.String(), got, tt.value)
		}
		if valid := len(ValidateIntOrPercent(tt.v, p)) == 0; valid != tt.valid {
			t.Errorf("ValidateIntOrPercent(%s) valid=%v, want %v", tt.v.String(), valid, tt.valid)
		}
		if over := len(NotMoreThan100Percent(tt.v, p)) > 0; over != tt.over100 {
			t.Errorf("NotMoreThan100Percent(%s) = %v, want %v", tt.v.String(), over, tt.over100)
		}
	}
}

func TestSelectors(t *testing.T) {
	p := field.NewPath("spec", "selector")
	if errs := ValidateRequiredSelector(nil, "deployment", p); len(errs) != 1 || errs[0].Type != field.ErrorTypeRequired {
		t.Errorf("nil selector: %v", errs)
	}
	if errs := ValidateRequiredSelector(&metav1.LabelSelector{}, "deployment", p); len(errs) != 1 || errs[0].Detail != "empty selector is invalid for deployment" {
		t.Errorf("empty selector: %v", errs)
	}
	if s := SelectorString(&metav1.LabelSelector{MatchLabels: map[string]string{"b": "2", "a": "1"}}); s != "a=1,b=2" {
		t.Errorf("SelectorString %q", s)
	}
	if s := SelectorString(&metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Bogus"}}}); s != "<invalid>" {
		t.Errorf("SelectorString of a bad selector %q", s)
	}
}

func TestCollisionCount(t *testing.T) {
	one, two := int32(1), int32(2)
	p := field.NewPath("status", "collisionCount")
	for _, tt := range []struct {
		count, old *int32
		bad        bool
	}{{nil, nil, false}, {&one, nil, false}, {&two, &one, false}, {&one, &two, true}, {nil, &one, true}} {
		if bad := len(CollisionCountNotDecremented(tt.count, tt.old, p)) > 0; bad != tt.bad {
			t.Errorf("%v -> %v: bad=%v", tt.old, tt.count, bad)
		}
	}
}
