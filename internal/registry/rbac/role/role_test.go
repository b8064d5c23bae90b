package role

import (
	"context"
	"reflect"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// errKeys renders errors as "path: type" for comparison.
func errKeys(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Field+": "+e.Type.String())
	}
	return out
}

func TestValidate(t *testing.T) {
	podReader := rbacv1.PolicyRule{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"pods"}}
	cases := []struct {
		name  string
		rules []rbacv1.PolicyRule
		want  []string
	}{
		{name: "pod reader", rules: []rbacv1.PolicyRule{podReader}},
		{name: "no rules"},
		{name: "resource names", rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"cfg"}}}},
		{
			name:  "no verbs",
			rules: []rbacv1.PolicyRule{podReader, {APIGroups: []string{""}, Resources: []string{"pods"}}},
			want:  []string{"rules[1].verbs: Required value"},
		},
		{
			name:  "no api groups nor resources",
			rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}}},
			want:  []string{"rules[0].apiGroups: Required value", "rules[0].resources: Required value"},
		},
		{
			name:  "missing apiGroups (a classic mistake)",
			rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, Resources: []string{"pods"}}},
			want:  []string{"rules[0].apiGroups: Required value"},
		},
		{
			name:  "non-resource URL in a namespaced role",
			rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}}},
			want:  []string{"rules[0].nonResourceURLs: Invalid value"},
		},
		{
			name:  "URL and resources together",
			rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}, Resources: []string{"pods"}}},
			want:  []string{"rules[0].nonResourceURLs: Invalid value", "rules[0].nonResourceURLs: Invalid value"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "reader", Namespace: "default"}, Rules: tc.rules}
			got := errKeys(Resource().Hooks.Validate(context.Background(), r))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			got = errKeys(Resource().Hooks.ValidateUpdate(context.Background(), r, r.DeepCopy()))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("update: got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestValidateName(t *testing.T) {
	for name, valid := range map[string]bool{
		"pod-reader":  true,
		"system:node": true,
		"Upper_Case":  true,
		"a/b":         false,
		"a%b":         false,
		"..":          false,
		".":           false,
	} {
		if got := len(Resource().NameValidation(name, false)) == 0; got != valid {
			t.Errorf("%q: valid=%v, want %v", name, got, valid)
		}
	}
}

func TestTable(t *testing.T) {
	tab := Resource().Table
	if len(tab.Columns) != 2 || tab.Columns[1].Name != "Created At" || tab.Columns[1].Type != "date" {
		t.Fatalf("columns: %+v", tab.Columns)
	}
	created := metav1.NewTime(time.Date(2024, 3, 1, 10, 30, 0, 0, time.FixedZone("x", 3600)))
	row, err := tab.Row(&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "reader", CreationTimestamp: created}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []interface{}{"reader", "2024-03-01T09:30:00Z"}; !reflect.DeepEqual(row, want) {
		t.Errorf("row %v, want %v", row, want)
	}
}

func TestIdentity(t *testing.T) {
	r := Resource()
	if r.GroupVersion.String() != "rbac.authorization.k8s.io/v1" || r.Resource != "roles" || !r.Namespaced || !r.AllowCreateOnUpdate {
		t.Errorf("%+v", r)
	}
}
