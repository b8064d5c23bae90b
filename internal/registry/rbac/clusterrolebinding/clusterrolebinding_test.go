package clusterrolebinding

import (
	"context"
	"reflect"
	"testing"

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

func binding() *rbacv1.ClusterRoleBinding {
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "admins"},
		RoleRef:    rbacv1.RoleRef{Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects: []rbacv1.Subject{
			{Kind: "Group", Name: "system:masters"},
			{Kind: "ServiceAccount", Namespace: "kube-system", Name: "dashboard"},
		},
	}
	Resource().Hooks.Default(crb)
	return crb
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		modify func(*rbacv1.ClusterRoleBinding)
		want   []string
	}{
		{name: "valid", modify: func(*rbacv1.ClusterRoleBinding) {}},
		{name: "refers to a Role", modify: func(b *rbacv1.ClusterRoleBinding) { b.RoleRef.Kind = "Role" }, want: []string{"roleRef.kind: Unsupported value"}},
		{name: "SA without namespace", modify: func(b *rbacv1.ClusterRoleBinding) { b.Subjects[1].Namespace = "" }, want: []string{"subjects[1].namespace: Required value"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := binding()
			tc.modify(b)
			got := errKeys(Resource().Hooks.Validate(context.Background(), b))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDefaultAndImmutableRoleRef(t *testing.T) {
	old := binding()
	if old.RoleRef.APIGroup != rbacv1.GroupName || old.Subjects[0].APIGroup != rbacv1.GroupName || old.Subjects[1].APIGroup != "" {
		t.Fatalf("defaults: %+v", old)
	}
	b := old.DeepCopy()
	b.RoleRef.Name = "view"
	got := errKeys(Resource().Hooks.ValidateUpdate(context.Background(), b, old))
	if want := []string{"roleRef: Invalid value"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestTable(t *testing.T) {
	row, err := Resource().Table.Row(binding())
	if err != nil {
		t.Fatal(err)
	}
	want := []interface{}{"admins", "ClusterRole/cluster-admin", "<unknown>", "", "system:masters", "kube-system/dashboard"}
	if !reflect.DeepEqual(row, want) {
		t.Errorf("row %q, want %q", row, want)
	}
	if d := Resource().Table.Columns[3].Description; d != "Users in the clusterRoleBinding" {
		t.Errorf("users column description %q", d)
	}
}
