package configmap

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cm   corev1.ConfigMap
		want []string // "type field"
	}{
		{"valid", corev1.ConfigMap{Data: map[string]string{"app.properties": "a=b"}, BinaryData: map[string][]byte{"logo.png": {1}}}, nil},
		{"bad key", corev1.ConfigMap{Data: map[string]string{"a b": "c"}}, []string{"FieldValueInvalid data[a b]"}},
		{"key in both", corev1.ConfigMap{Data: map[string]string{"k": "v"}, BinaryData: map[string][]byte{"k": {1}}}, []string{"FieldValueInvalid data[k]"}},
		{"too big", corev1.ConfigMap{Data: map[string]string{"k": strings.Repeat("x", maxSize+1)}}, []string{"FieldValueTooLong []"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertErrors(t, Validate(&tc.cm), tc.want)
		})
	}
}

func TestImmutableConfigMapKeepsItsData(t *testing.T) {
	yes := true
	old := &corev1.ConfigMap{Immutable: &yes, Data: map[string]string{"k": "v"}}
	changed := &corev1.ConfigMap{Immutable: &yes, Data: map[string]string{"k": "w"}}
	assertErrors(t, ValidateUpdate(changed, old), []string{"FieldValueForbidden data"})
	unset := &corev1.ConfigMap{Data: map[string]string{"k": "v"}}
	assertErrors(t, ValidateUpdate(unset, old), []string{"FieldValueForbidden immutable"})
	assertErrors(t, ValidateUpdate(old.DeepCopy(), old), nil)
}

func TestTableRow(t *testing.T) {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings"}, Data: map[string]string{"a": "1", "b": "2"}, BinaryData: map[string][]byte{"c": nil}}
	row, err := table().Row(cm)
	if err != nil || len(row) != 3 || row[0] != "settings" || row[1] != int64(3) || row[2] != "<unknown>" {
		t.Fatalf("row %v %v", row, err)
	}
}

func assertErrors(t *testing.T, errs field.ErrorList, want []string) {
	t.Helper()
	var got []string
	for _, e := range errs {
		f := e.Field
		if f == "" {
			f = "<nil>"
		}
		got = append(got, string(e.Type)+" "+f)
	}
	if strings.Join(got, ";") != strings.Join(want, ";") {
		t.Fatalf("errors %q, want %q", got, want)
	}
}
