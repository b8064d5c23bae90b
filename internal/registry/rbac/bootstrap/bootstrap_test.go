package bootstrap

import (
	"reflect"
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/kemudi/kemudi/internal/registry/rbac/clusterrole"
	"github.com/kemudi/kemudi/internal/registry/rbac/clusterrolebinding"
	rolepkg "github.com/kemudi/kemudi/internal/registry/rbac/role"
	"github.com/kemudi/kemudi/internal/registry/rbac/rolebinding"
)

// TestObjectsAreValid: everything the server creates at start passes the
// validation a user's object would.
func TestObjectsAreValid(t *testing.T) {
	for _, cr := range append(ClusterRoles(), ControllerRoles()...) {
		if errs := clusterrole.Validate(&cr, false); len(errs) > 0 {
			t.Errorf("cluster role %s: %v", cr.Name, errs)
		}
		if errs := rolepkg.ValidateName(cr.Name, false); len(errs) > 0 {
			t.Errorf("cluster role name %s: %v", cr.Name, errs)
		}
		checkMeta(t, cr.Name, cr.Labels, cr.Annotations)
	}
	for _, b := range append(ClusterRoleBindings(), ControllerRoleBindings()...) {
		if errs := clusterrolebinding.Validate(&b); len(errs) > 0 {
			t.Errorf("cluster role binding %s: %v", b.Name, errs)
		}
		checkMeta(t, b.Name, b.Labels, b.Annotations)
	}
	for _, r := range NamespaceRoles() {
		if errs := rolepkg.Validate(&r); len(errs) > 0 || r.Namespace == "" {
			t.Errorf("role %s/%s: %v", r.Namespace, r.Name, errs)
		}
	}
	for _, b := range NamespaceRoleBindings() {
		if errs := rolebinding.Validate(&b); len(errs) > 0 || b.Namespace == "" {
			t.Errorf("role binding %s/%s: %v", b.Namespace, b.Name, errs)
		}
	}
}

func checkMeta(t *testing.T, name string, labels, annotations map[string]string) {
	t.Helper()
	if labels["kubernetes.io/bootstrapping"] != "rbac-defaults" || annotations["rbac.authorization.kubernetes.io/autoupdate"] != "true" {
		t.Errorf("%s: labels %v annotations %v", name, labels, annotations)
	}
}

// TestBindingsReferToRoles: every binding names a role that is created
// with it, and names are unique.
func TestBindingsReferToRoles(t *testing.T) {
	clusterRoles := map[string]bool{}
	for _, r := range append(ClusterRoles(), ControllerRoles()...) {
		if clusterRoles[r.Name] {
			t.Errorf("duplicate cluster role %s", r.Name)
		}
		clusterRoles[r.Name] = true
	}
	seen := map[string]bool{}
	for _, b := range append(ClusterRoleBindings(), ControllerRoleBindings()...) {
		if seen[b.Name] {
			t.Errorf("duplicate cluster role binding %s", b.Name)
		}
		seen[b.Name] = true
		if !clusterRoles[b.RoleRef.Name] {
			t.Errorf("binding %s refers to missing cluster role %s", b.Name, b.RoleRef.Name)
		}
	}
	roles := map[string]bool{}
	for _, r := range NamespaceRoles() {
		roles[r.Namespace+"/"+r.Name] = true
	}
	for _, b := range NamespaceRoleBindings() {
		if !roles[b.Namespace+"/"+b.RoleRef.Name] {
			t.Errorf("role binding %s/%s refers to missing role %s", b.Namespace, b.Name, b.RoleRef.Name)
		}
	}
}

func find(t *testing.T, name string) rbacv1.ClusterRole {
	t.Helper()
	for _, r := range append(ClusterRoles(), ControllerRoles()...) {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no cluster role %s", name)
	return rbacv1.ClusterRole{}
}

func TestWellKnownRoles(t *testing.T) {
	admin := find(t, "cluster-admin")
	want := []rbacv1.PolicyRule{
		{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}},
		{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}},
	}
	if !reflect.DeepEqual(admin.Rules, want) {
		t.Errorf("cluster-admin rules %+v", admin.Rules)
	}

	// The aggregation chain: view's rules go into edit, edit's into admin.
	for name, sel := range map[string]string{"admin": AggregateToAdmin, "edit": AggregateToEdit, "view": AggregateToView} {
		r := find(t, name)
		if r.AggregationRule == nil || r.AggregationRule.ClusterRoleSelectors[0].MatchLabels[sel] != "true" || len(r.Rules) != 0 {
			t.Errorf("%s: %+v", name, r)
		}
	}
	if find(t, "edit").Labels[AggregateToAdmin] != "true" || find(t, "view").Labels[AggregateToEdit] != "true" {
		t.Error("edit/view do not aggregate upwards")
	}

	// Canonical rules: sorted, as stored upstream.
	disc := find(t, "system:discovery").Rules[0]
	if !slices.IsSorted(disc.NonResourceURLs) || !slices.Contains(disc.NonResourceURLs, "/apis/*") {
		t.Errorf("system:discovery: %+v", disc)
	}

	// The scheduler may bind pods; kube-proxy may watch endpoint slices.
	if !allows(find(t, "system:kube-scheduler"), "create", "", "pods/binding") {
		t.Error("scheduler cannot bind pods")
	}
	if !allows(find(t, "system:node-proxier"), "watch", "discovery.k8s.io", "endpointslices") {
		t.Error("kube-proxy cannot watch endpoint slices")
	}
	if !allows(find(t, "system:node"), "patch", "", "nodes/status") {
		t.Error("nodes cannot update their status")
	}
	if allows(find(t, "system:aggregate-to-view"), "get", "", "secrets") {
		t.Error("view reads secrets")
	}
	if !allows(find(t, "system:controller:deployment-controller"), "create", "apps", "replicasets") {
		t.Error("deployment controller cannot create replica sets")
	}
}

func TestWellKnownBindings(t *testing.T) {
	byName := map[string]rbacv1.ClusterRoleBinding{}
	for _, b := range append(ClusterRoleBindings(), ControllerRoleBindings()...) {
		byName[b.Name] = b
	}
	want := map[string][]rbacv1.Subject{
		"cluster-admin":                    {{Kind: "Group", APIGroup: rbacv1.GroupName, Name: "system:masters"}},
		"system:public-info-viewer":        {{Kind: "Group", APIGroup: rbacv1.GroupName, Name: "system:authenticated"}, {Kind: "Group", APIGroup: rbacv1.GroupName, Name: "system:unauthenticated"}},
		"system:node-proxier":              {{Kind: "User", APIGroup: rbacv1.GroupName, Name: "system:kube-proxy"}},
		"system:kube-scheduler":            {{Kind: "User", APIGroup: rbacv1.GroupName, Name: "system:kube-scheduler"}},
		"system:node":                      nil,
		"system:controller:job-controller": {{Kind: "ServiceAccount", Namespace: "kube-system", Name: "job-controller"}},
	}
	for name, subjects := range want {
		if got := byName[name].Subjects; !reflect.DeepEqual(got, subjects) {
			t.Errorf("%s subjects %+v, want %+v", name, got, subjects)
		}
	}
}

func allows(r rbacv1.ClusterRole, verb, group, resource string) bool {
	for _, rule := range r.Rules {
		if (slices.Contains(rule.Verbs, verb) || slices.Contains(rule.Verbs, "*")) &&
			(slices.Contains(rule.APIGroups, group) || slices.Contains(rule.APIGroups, "*")) &&
			(slices.Contains(rule.Resources, resource) || slices.Contains(rule.Resources, "*")) {
			return true
		}
	}
	return false
}

func TestCanonical(t *testing.T) {
	got := verbs("watch", "get", "list", "get").groups("b", "a").rule()
	if !reflect.DeepEqual(got.Verbs, []string{"get", "list", "watch"}) || !reflect.DeepEqual(got.APIGroups, []string{"a", "b"}) || got.Resources != nil {
		t.Errorf("%+v", got)
	}
}
