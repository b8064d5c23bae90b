package rolebinding

import (
	"context"
	"reflect"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
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

// binding is what `kubectl create rolebinding` sends, before defaulting.
func binding() *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "read-pods", Namespace: "dev"},
		RoleRef:    rbacv1.RoleRef{Kind: "Role", Name: "pod-reader"},
		Subjects: []rbacv1.Subject{
			{Kind: "User", Name: "jane"},
			{Kind: "Group", Name: "devs"},
			{Kind: "ServiceAccount", Name: "builder"},
		},
	}
}

func TestDefault(t *testing.T) {
	rb := binding()
	Resource().Hooks.Default(rb)
	if rb.RoleRef.APIGroup != "rbac.authorization.k8s.io" {
		t.Errorf("roleRef.apiGroup = %q", rb.RoleRef.APIGroup)
	}
	want := []string{"rbac.authorization.k8s.io", "rbac.authorization.k8s.io", ""}
	for i, s := range rb.Subjects {
		if s.APIGroup != want[i] {
			t.Errorf("subjects[%d].apiGroup = %q, want %q", i, s.APIGroup, want[i])
		}
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		modify func(*rbacv1.RoleBinding)
		want   []string
	}{
		{name: "valid", modify: func(*rbacv1.RoleBinding) {}},
		{name: "cluster role", modify: func(rb *rbacv1.RoleBinding) { rb.RoleRef.Kind = "ClusterRole"; rb.RoleRef.Name = "view" }},
		{name: "no subjects", modify: func(rb *rbacv1.RoleBinding) { rb.Subjects = nil }},
		{name: "SA in another namespace", modify: func(rb *rbacv1.RoleBinding) { rb.Subjects[2].Namespace = "ci" }},
		{name: "bad kind", modify: func(rb *rbacv1.RoleBinding) { rb.RoleRef.Kind = "Roles" }, want: []string{"roleRef.kind: Unsupported value"}},
		{name: "bad group", modify: func(rb *rbacv1.RoleBinding) { rb.RoleRef.APIGroup = "rbac" }, want: []string{"roleRef.apiGroup: Unsupported value"}},
		{name: "no role name", modify: func(rb *rbacv1.RoleBinding) { rb.RoleRef.Name = "" }, want: []string{"roleRef.name: Required value"}},
		{name: "bad role name", modify: func(rb *rbacv1.RoleBinding) { rb.RoleRef.Name = "a/b" }, want: []string{"roleRef.name: Invalid value"}},
		{name: "subject without name", modify: func(rb *rbacv1.RoleBinding) { rb.Subjects[0].Name = "" }, want: []string{"subjects[0].name: Required value"}},
		{name: "unknown subject kind", modify: func(rb *rbacv1.RoleBinding) { rb.Subjects[0].Kind = "user" }, want: []string{"subjects[0].kind: Unsupported value"}},
		{name: "user in wrong group", modify: func(rb *rbacv1.RoleBinding) { rb.Subjects[0].APIGroup = "v1" }, want: []string{"subjects[0].apiGroup: Unsupported value"}},
		{name: "SA with api group", modify: func(rb *rbacv1.RoleBinding) { rb.Subjects[2].APIGroup = "rbac.authorization.k8s.io" }, want: []string{"subjects[2].apiGroup: Unsupported value"}},
		{name: "SA bad name", modify: func(rb *rbacv1.RoleBinding) { rb.Subjects[2].Name = "Builder" }, want: []string{"subjects[2].name: Invalid value"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rb := binding()
			Resource().Hooks.Default(rb)
			tc.modify(rb)
			got := errKeys(Resource().Hooks.Validate(context.Background(), rb))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	old := binding()
	Resource().Hooks.Default(old)
	rb := old.DeepCopy()
	rb.Subjects = rb.Subjects[:1]
	if errs := Resource().Hooks.ValidateUpdate(context.Background(), rb, old); len(errs) != 0 {
		t.Errorf("changing subjects: %v", errs)
	}
	rb.RoleRef.Name = "other"
	got := errKeys(Resource().Hooks.ValidateUpdate(context.Background(), rb, old))
	if want := []string{"roleRef: Invalid value"}; !reflect.DeepEqual(got, want) {
		t.Errorf("changing roleRef: got %q, want %q", got, want)
	}
}

func TestTable(t *testing.T) {
	tab := Resource().Table
	var names []string
	for _, c := range tab.Columns {
		if c.Priority == 1 {
			names = append(names, c.Name+"(wide)")
		} else {
			names = append(names, c.Name)
		}
	}
	if want := []string{"Name", "Role", "Age", "Users(wide)", "Groups(wide)", "ServiceAccounts(wide)"}; !reflect.DeepEqual(names, want) {
		t.Errorf("columns %v, want %v", names, want)
	}
	rb := binding()
	rb.Subjects = append(rb.Subjects, rbacv1.Subject{Kind: "User", Name: "joe"}, rbacv1.Subject{Kind: "ServiceAccount", Namespace: "ci", Name: "bot"})
	rb.Subjects[2].Namespace = "dev"
	rb.CreationTimestamp = metav1.NewTime(time.Now().Add(-5 * time.Minute))
	row, err := tab.Row(rb)
	if err != nil {
		t.Fatal(err)
	}
	want := []interface{}{"read-pods", "Role/pod-reader", "5m", "jane, joe", "devs", "dev/builder, ci/bot"}
	if !reflect.DeepEqual(row, want) {
		t.Errorf("row %q, want %q", row, want)
	}
	row, _ = tab.Row(&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "empty"}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "view"}})
	if want := []interface{}{"empty", "ClusterRole/view", "<unknown>", "", "", ""}; !reflect.DeepEqual(row, want) {
		t.Errorf("row %q, want %q", row, want)
	}
}
