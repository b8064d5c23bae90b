package apiserver_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestEscalationPrevention: a namespace admin (the admin cluster role
// bound in team) may write roles and bindings only with permissions it
// holds, unless it has escalate or bind.
func TestEscalationPrevention(t *testing.T) {
	f := newAuthzFixture(t)
	s, ctx := f.s, context.Background()
	admin := s.Client
	boss := s.ServiceAccountIdentity(authzNS, "boss")
	if _, err := admin.RbacV1().RoleBindings(authzNS).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "boss"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "boss", Namespace: authzNS}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.WaitAllowed(boss, authorizationv1.ResourceAttributes{Namespace: authzNS, Verb: "create", Resource: "roles", Group: rbacv1.GroupName})
	roles := boss.Client.RbacV1().Roles(authzNS)
	bindings := boss.Client.RbacV1().RoleBindings(authzNS)
	role := func(name string, rules ...rbacv1.PolicyRule) *rbacv1.Role {
		return &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}
	}
	binding := func(name, kind, roleName string) *rbacv1.RoleBinding {
		return &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kind, Name: roleName},
			Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: "someone"}},
		}
	}
	podReader := rbacv1.PolicyRule{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"pods"}}
	nodeReader := rbacv1.PolicyRule{Verbs: []string{"list"}, APIGroups: []string{""}, Resources: []string{"nodes"}}

	// Held permissions: allowed.
	if _, err := roles.Create(ctx, role("pod-reader", podReader), metav1.CreateOptions{}); err != nil {
		t.Fatalf("role with held rules: %v", err)
	}
	if _, err := bindings.Create(ctx, binding("read-pods", "Role", "pod-reader"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("binding to a held role: %v", err)
	}
	if _, err := bindings.Create(ctx, binding("view", "ClusterRole", "view"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("binding to view: %v", err)
	}

	// Not held: refused with upstream's message, nothing stored.
	_, err := roles.Create(ctx, role("node-reader", nodeReader), metav1.CreateOptions{})
	wantForbidden(t, err, `roles.rbac.authorization.k8s.io "node-reader" is forbidden: user "system:serviceaccount:team:boss" (groups=["system:serviceaccounts" "system:serviceaccounts:team" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:`+"\n"+`{APIGroups:[""], Resources:["nodes"], Verbs:["list"]}`)
	if _, err := admin.RbacV1().Roles(authzNS).Get(ctx, "node-reader", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("refused role stored: %v", err)
	}
	_, err = bindings.Create(ctx, binding("root", "ClusterRole", "cluster-admin"), metav1.CreateOptions{})
	wantForbidden(t, err, `rolebindings.rbac.authorization.k8s.io "root" is forbidden: user "system:serviceaccount:team:boss"`)
	if _, err := admin.RbacV1().RoleBindings(authzNS).Get(ctx, "root", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("refused binding stored: %v", err)
	}
	// An update that adds what is not held is refused too.
	r, err := roles.Get(ctx, "pod-reader", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r.Rules = append(r.Rules, nodeReader)
	_, err = roles.Update(ctx, r, metav1.UpdateOptions{})
	wantForbidden(t, err, `is attempting to grant RBAC permissions not currently held`)
	if got, _ := admin.RbacV1().Roles(authzNS).Get(ctx, "pod-reader", metav1.GetOptions{}); len(got.Rules) != 1 {
		t.Errorf("refused update stored: %+v", got.Rules)
	}
	// Binding to a role that does not exist: not found.
	_, err = bindings.Create(ctx, binding("ghost", "ClusterRole", "no-such-role"), metav1.CreateOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("binding to a missing role: %v", err)
	}

	// bind on cluster-admin lets the boss bind it; escalate on roles lets
	// it write any role.
	if _, err := admin.RbacV1().Roles(authzNS).Create(ctx, role("binder",
		rbacv1.PolicyRule{Verbs: []string{"bind"}, APIGroups: []string{rbacv1.GroupName}, Resources: []string{"clusterroles"}, ResourceNames: []string{"cluster-admin"}},
		rbacv1.PolicyRule{Verbs: []string{"escalate"}, APIGroups: []string{rbacv1.GroupName}, Resources: []string{"roles"}},
	), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.RbacV1().RoleBindings(authzNS).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "boss-binder"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "binder"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "boss", Namespace: authzNS}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.WaitAllowed(boss, authorizationv1.ResourceAttributes{Namespace: authzNS, Verb: "bind", Resource: "clusterroles", Group: rbacv1.GroupName, Name: "cluster-admin"})
	if _, err := bindings.Create(ctx, binding("root", "ClusterRole", "cluster-admin"), metav1.CreateOptions{}); err != nil {
		t.Errorf("binding with bind: %v", err)
	}
	if _, err := roles.Create(ctx, role("node-reader", nodeReader), metav1.CreateOptions{}); err != nil {
		t.Errorf("role with escalate: %v", err)
	}
}

func wantForbidden(t *testing.T, err error, msg string) {
	t.Helper()
	if !apierrors.IsForbidden(err) {
		t.Fatalf("want 403, got %v", err)
	}
	if !strings.Contains(err.Error(), msg) {
		t.Errorf("message\n%s\nwant it to contain\n%s", err, msg)
	}
}

// TestClusterRoleAggregation: a cluster role labelled aggregate-to-view
// flows into view, edit and admin (and out again when unlabelled), and
// whoever is bound to view gets its rules.
func TestClusterRoleAggregation(t *testing.T) {
	f := newAuthzFixture(t)
	s, ctx := f.s, context.Background()
	crontabs := rbacv1.PolicyRule{Verbs: []string{"get", "list", "watch"}, APIGroups: []string{"stable.example.com"}, Resources: []string{"crontabs"}}
	if _, err := s.Client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "crontab-reader", Labels: map[string]string{"rbac.authorization.k8s.io/aggregate-to-view": "true"}},
		Rules:      []rbacv1.PolicyRule{crontabs},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	has := func(role string) bool {
		r, err := s.Client.RbacV1().ClusterRoles().Get(ctx, role, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(r.Rules, func(x rbacv1.PolicyRule) bool { return slices.Equal(x.Resources, crontabs.Resources) })
	}
	waitFor(t, "view, edit and admin to include crontabs", func() bool { return has("view") && has("edit") && has("admin") })
	s.WaitAllowed(f.identities["viewer"], authorizationv1.ResourceAttributes{Namespace: authzNS, Verb: "list", Group: "stable.example.com", Resource: "crontabs"})

	if _, err := s.Client.RbacV1().ClusterRoles().Patch(ctx, "crontab-reader", "application/merge-patch+json",
		[]byte(`{"metadata":{"labels":{"rbac.authorization.k8s.io/aggregate-to-view":null}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "view, edit and admin to drop crontabs", func() bool { return !has("view") && !has("edit") && !has("admin") })
	if !has("crontab-reader") {
		t.Error("the source role lost its rules")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
