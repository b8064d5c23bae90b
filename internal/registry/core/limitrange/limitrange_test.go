package limitrange

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func errKeys(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, string(e.Type)+" "+e.Field)
	}
	return out
}

func list(kv ...string) corev1.ResourceList {
	l := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		l[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return l
}

func TestDefault(t *testing.T) {
	lr := &corev1.LimitRange{Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{
		{Type: corev1.LimitTypeContainer, Max: list("cpu", "2", "memory", "1Gi"), Min: list("cpu", "100m", "ephemeral-storage", "1Mi"), Default: list("memory", "512Mi")},
		{Type: corev1.LimitTypePod, Max: list("cpu", "4")},
	}}}
	Default(lr)
	c := lr.Spec.Limits[0]
	if got := c.Default; !equalLists(got, list("cpu", "2", "memory", "512Mi")) {
		t.Errorf("default = %v", got)
	}
	if got := c.DefaultRequest; !equalLists(got, list("cpu", "2", "memory", "512Mi", "ephemeral-storage", "1Mi")) {
		t.Errorf("defaultRequest = %v", got)
	}
	if p := lr.Spec.Limits[1]; p.Default != nil || p.DefaultRequest != nil {
		t.Errorf("pod limit got defaults: %+v", p)
	}
}

func equalLists(a, b corev1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || v.Cmp(w) != 0 {
			return false
		}
	}
	return true
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		limits []corev1.LimitRangeItem
		want   []string
	}{
		{"realistic", []corev1.LimitRangeItem{
			{Type: "Container", Max: list("cpu", "2", "memory", "1Gi"), Min: list("cpu", "100m", "memory", "64Mi"), Default: list("cpu", "500m", "memory", "256Mi"), DefaultRequest: list("cpu", "250m", "memory", "128Mi"), MaxLimitRequestRatio: list("cpu", "4")},
			{Type: "Pod", Max: list("cpu", "4")},
			{Type: "PersistentVolumeClaim", Min: list("storage", "1Gi"), Max: list("storage", "10Gi")},
		}, nil},
		{"duplicate type", []corev1.LimitRangeItem{{Type: "Pod"}, {Type: "Pod"}}, []string{"FieldValueDuplicate spec.limits[1].type"}},
		{"unknown type", []corev1.LimitRangeItem{{Type: "Node"}}, []string{"FieldValueInvalid spec.limits[0].type"}},
		{"min above max", []corev1.LimitRangeItem{{Type: "Container", Min: list("cpu", "2"), Max: list("cpu", "1")}}, []string{"FieldValueInvalid spec.limits[0].min[cpu]"}},
		{"default above max", []corev1.LimitRangeItem{{Type: "Container", Max: list("memory", "1Gi"), Default: list("memory", "2Gi")}}, []string{"FieldValueInvalid spec.limits[0].default[memory]"}},
		{"request above default", []corev1.LimitRangeItem{{Type: "Container", Default: list("cpu", "1"), DefaultRequest: list("cpu", "2")}}, []string{"FieldValueInvalid spec.limits[0].defaultRequest[cpu]"}},
		{"request below min", []corev1.LimitRangeItem{{Type: "Container", Min: list("cpu", "1"), DefaultRequest: list("cpu", "500m")}}, []string{"FieldValueInvalid spec.limits[0].defaultRequest[cpu]"}},
		{"pod defaults", []corev1.LimitRangeItem{{Type: "Pod", Default: list("cpu", "1"), DefaultRequest: list("cpu", "1")}}, []string{"FieldValueForbidden spec.limits[0].default", "FieldValueForbidden spec.limits[0].defaultRequest"}},
		{"claim without storage bounds", []corev1.LimitRangeItem{{Type: "PersistentVolumeClaim"}}, []string{"FieldValueRequired spec.limits[0].limits"}},
		{"ratio below one", []corev1.LimitRangeItem{{Type: "Container", MaxLimitRequestRatio: list("cpu", "500m")}}, []string{"FieldValueInvalid spec.limits[0].maxLimitRequestRatio[cpu]"}},
		{"ratio above max/min", []corev1.LimitRangeItem{{Type: "Container", Min: list("cpu", "1"), Max: list("cpu", "2"), MaxLimitRequestRatio: list("cpu", "3")}}, []string{"FieldValueInvalid spec.limits[0].maxLimitRequestRatio[cpu]"}},
		{"not a container resource", []corev1.LimitRangeItem{{Type: "Container", Max: list("pods", "1")}}, []string{"FieldValueInvalid spec.limits[0].max[pods]"}},
		{"extended resource must not overcommit", []corev1.LimitRangeItem{{Type: "Container", Default: list("example.com/gpu", "2"), DefaultRequest: list("example.com/gpu", "1")}}, []string{"FieldValueInvalid spec.limits[0].defaultRequest[example.com/gpu]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lr := &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "limits"}, Spec: corev1.LimitRangeSpec{Limits: tc.limits}}
			if got := errKeys(Validate(lr)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("errors = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTable(t *testing.T) {
	lr := &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "limits", CreationTimestamp: metav1.NewTime(time.Date(2026, 5, 1, 10, 30, 0, 0, time.FixedZone("x", 3600)))}}
	tbl := Resource().Table
	row, err := tbl.Row(lr)
	if err != nil {
		t.Fatal(err)
	}
	if want := []interface{}{"limits", "2026-05-01T09:30:00Z"}; !reflect.DeepEqual(row, want) {
		t.Errorf("row = %v, want %v", row, want)
	}
	if tbl.Columns[1].Name != "Created At" {
		t.Errorf("columns = %+v", tbl.Columns)
	}
}
