package rbac

import (
	"context"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/auth"
	"github.com/kemudi/kemudi/internal/registry/rbac/bootstrap"
)

// BenchmarkAuthorize is the authorizer's cost per request with upstream's
// whole bootstrap policy loaded, for a user allowed by a RoleBinding in
// its namespace (the API benchmark's -identity rbac): every cluster role
// binding is looked at first.
func BenchmarkAuthorize(b *testing.B) {
	var objs []any
	for _, r := range append(bootstrap.ClusterRoles(), bootstrap.ControllerRoles()...) {
		objs = append(objs, &r)
	}
	for _, r := range append(bootstrap.ClusterRoleBindings(), bootstrap.ControllerRoleBindings()...) {
		objs = append(objs, &r)
	}
	objs = append(objs,
		role("bench", "pod-writer", rule(l("create", "get", "list", "watch"), l(""), l("pods"))),
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: "bench", Name: "pod-writer"},
			RoleRef:    rbacv1.RoleRef{Kind: "Role", Name: "pod-writer"},
			Subjects:   []rbacv1.Subject{{Kind: "User", Name: "apibench-writer"}},
		})
	z := auth.Union{auth.Masters{}, New(NewIndex(objs...))}
	u := &auth.User{Name: "apibench-writer", Groups: l("system:authenticated")}
	a := auth.Attributes{User: u, Verb: "create", ResourceRequest: true, APIVersion: "v1", Resource: "pods", Namespace: "bench"}
	b.ReportAllocs()
	for b.Loop() {
		if d, _, _ := z.Authorize(context.Background(), a); d != auth.Allow {
			b.Fatal("refused")
		}
	}
}
