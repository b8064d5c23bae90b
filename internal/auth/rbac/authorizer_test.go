package rbac

import (
	"context"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/auth"
)

func clusterRole(name string, rules ...rbacv1.PolicyRule) *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}
}

func role(ns, name string, rules ...rbacv1.PolicyRule) *rbacv1.Role {
	return &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Rules: rules}
}

func rule(verbs, groups, resources []string, names ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: verbs, APIGroups: groups, Resources: resources, ResourceNames: names}
}

func l(s ...string) []string { return s }

func testIndex() *Index {
	return NewIndex(
		clusterRole("reader", rule(l("get", "list", "watch"), l(""), l("pods", "pods/log"))),
		clusterRole("scaler", rule(l("update"), l("*"), l("*/scale"))),
		clusterRole("one-secret", rule(l("get"), l(""), l("secrets"), "token")),
		clusterRole("paths", rbacv1.PolicyRule{Verbs: l("get"), NonResourceURLs: l("/healthz", "/apis/*")}),
		clusterRole("star", rule(l("*"), l("*"), l("*"))),
		role("team", "deployer", rule(l("create", "delete"), l("apps"), l("deployments"))),
		&rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "readers"},
			RoleRef:    rbacv1.RoleRef{Kind: "ClusterRole", Name: "reader"},
			Subjects:   []rbacv1.Subject{{Kind: "Group", Name: "readers"}},
		},
		&rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "paths"},
			RoleRef:    rbacv1.RoleRef{Kind: "ClusterRole", Name: "paths"},
			Subjects:   []rbacv1.Subject{{Kind: "Group", Name: "system:authenticated"}},
		},
		&rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "dangling"},
			RoleRef:    rbacv1.RoleRef{Kind: "ClusterRole", Name: "missing"},
			Subjects:   []rbacv1.Subject{{Kind: "User", Name: "dan"}},
		},
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "deployers"},
			RoleRef:    rbacv1.RoleRef{Kind: "Role", Name: "deployer"},
			// No namespace: the binding's own.
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "ci"}, {Kind: "User", Name: "alice"}},
		},
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "scalers"},
			RoleRef:    rbacv1.RoleRef{Kind: "ClusterRole", Name: "scaler"},
			Subjects:   []rbacv1.Subject{{Kind: "User", Name: "alice"}},
		},
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "secret"},
			RoleRef:    rbacv1.RoleRef{Kind: "ClusterRole", Name: "one-secret"},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "ci", Namespace: "other"}},
		},
	)
}

func TestAuthorize(t *testing.T) {
	z := New(testIndex())
	reader := &auth.User{Name: "rita", Groups: l("readers", "system:authenticated")}
	alice := &auth.User{Name: "alice", Groups: l("system:authenticated")}
	ci := &auth.User{Name: "system:serviceaccount:team:ci", Groups: auth.ServiceAccountGroups("team")}
	otherCI := &auth.User{Name: "system:serviceaccount:other:ci", Groups: auth.ServiceAccountGroups("other")}
	res := func(u *auth.User, verb, group, resource, sub, ns, name string) auth.Attributes {
		return auth.Attributes{User: u, Verb: verb, ResourceRequest: true, APIGroup: group, Resource: resource, Subresource: sub, Namespace: ns, Name: name}
	}
	path := func(u *auth.User, verb, p string) auth.Attributes {
		return auth.Attributes{User: u, Verb: verb, Path: p}
	}
	for _, tc := range []struct {
		name  string
		a     auth.Attributes
		allow bool
	}{
		{"group binding, any namespace", res(reader, "list", "", "pods", "", "anywhere", ""), true},
		{"group binding, cluster scope", res(reader, "watch", "", "pods", "", "", ""), true},
		{"subresource listed", res(reader, "get", "", "pods", "log", "x", "p"), true},
		{"subresource not listed", res(reader, "get", "", "pods", "exec", "x", "p"), false},
		{"verb not listed", res(reader, "delete", "", "pods", "", "x", "p"), false},
		{"other group", res(reader, "list", "apps", "pods", "", "x", ""), false},
		{"role binding in its namespace", res(alice, "create", "apps", "deployments", "", "team", ""), true},
		{"role binding elsewhere", res(alice, "create", "apps", "deployments", "", "prod", ""), false},
		{"role binding at cluster scope", res(alice, "create", "apps", "deployments", "", "", ""), false},
		{"*/scale subresource", res(alice, "update", "apps", "deployments", "scale", "team", "web"), true},
		{"*/scale is not the resource", res(alice, "update", "apps", "deployments", "", "team", "web"), false},
		{"service account defaulted to the binding's namespace", res(ci, "delete", "apps", "deployments", "", "team", "web"), true},
		{"service account of another namespace", res(otherCI, "delete", "apps", "deployments", "", "team", "web"), false},
		{"resource name allowed", res(otherCI, "get", "", "secrets", "", "team", "token"), true},
		{"resource name not listed", res(otherCI, "get", "", "secrets", "", "team", "other"), false},
		{"resource names and no name (list)", res(otherCI, "list", "", "secrets", "", "team", ""), false},
		{"exact path", path(alice, "get", "/healthz"), true},
		{"path prefix", path(alice, "get", "/apis/apps/v1"), true},
		{"path not listed", path(alice, "get", "/metrics"), false},
		{"path verb", path(alice, "post", "/healthz"), false},
		{"resource rule does not allow a path", path(reader, "get", "/api/v1/pods"), false},
		{"no user", auth.Attributes{Verb: "get", Path: "/healthz"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, _, err := z.Authorize(context.Background(), tc.a)
			if err != nil {
				t.Fatal(err)
			}
			if (d == auth.Allow) != tc.allow {
				t.Errorf("decision %v, want allowed %v", d, tc.allow)
			}
			if d == auth.Deny {
				t.Error("RBAC never denies")
			}
		})
	}
}

func TestAuthorizeReportsMissingRoles(t *testing.T) {
	z := New(testIndex())
	d, reason, _ := z.Authorize(context.Background(), auth.Attributes{User: &auth.User{Name: "dan"}, Verb: "get", ResourceRequest: true, Resource: "pods"})
	if d != auth.NoOpinion || reason != `RBAC: clusterrole.rbac.authorization.k8s.io "missing" not found` {
		t.Errorf("%v %q", d, reason)
	}
}

func TestIndexFollowsChanges(t *testing.T) {
	x := testIndex()
	z := New(x)
	alice := &auth.User{Name: "alice"}
	a := auth.Attributes{User: alice, Verb: "create", ResourceRequest: true, APIGroup: "apps", Resource: "deployments", Namespace: "team"}
	if d, _, _ := z.Authorize(context.Background(), a); d != auth.Allow {
		t.Fatal("not allowed before")
	}
	x.Delete(&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "deployers"}})
	if d, _, _ := z.Authorize(context.Background(), a); d == auth.Allow {
		t.Fatal("allowed after the binding's deletion")
	}
	x.Set(&rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "deployers"},
		RoleRef:    rbacv1.RoleRef{Kind: "Role", Name: "deployer"},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: "alice"}},
	})
	if d, _, _ := z.Authorize(context.Background(), a); d != auth.Allow {
		t.Fatal("not allowed after the binding came back")
	}
	x.Set(role("team", "deployer", rule(l("get"), l("apps"), l("deployments"))))
	if d, _, _ := z.Authorize(context.Background(), a); d == auth.Allow {
		t.Fatal("allowed after the role lost the verb")
	}
}

func TestRules(t *testing.T) {
	z := New(testIndex())
	rules, incomplete := z.Rules(&auth.User{Name: "alice", Groups: l("system:authenticated")}, "team")
	if incomplete || len(rules) != 3 {
		t.Errorf("alice in team: %d rules, incomplete %v: %+v", len(rules), incomplete, rules)
	}
	if _, incomplete := z.Rules(&auth.User{Name: "dan"}, ""); !incomplete {
		t.Error("a binding to a missing role is not reported")
	}
}

func TestCovers(t *testing.T) {
	for _, tc := range []struct {
		name             string
		owner, requested []rbacv1.PolicyRule
		covered          bool
		missing          int
	}{
		{"same", []rbacv1.PolicyRule{rule(l("get", "list"), l(""), l("pods"))}, []rbacv1.PolicyRule{rule(l("get"), l(""), l("pods"))}, true, 0},
		{"star covers all", []rbacv1.PolicyRule{rule(l("*"), l("*"), l("*"))}, []rbacv1.PolicyRule{rule(l("delete"), l("apps"), l("deployments/scale"))}, true, 0},
		{"verb missing", []rbacv1.PolicyRule{rule(l("get"), l(""), l("pods"))}, []rbacv1.PolicyRule{rule(l("get", "delete"), l(""), l("pods"))}, false, 1},
		{"split across rules", []rbacv1.PolicyRule{rule(l("get"), l(""), l("pods")), rule(l("list"), l(""), l("pods"))}, []rbacv1.PolicyRule{rule(l("get", "list"), l(""), l("pods"))}, true, 0},
		{"*/sub covers a subresource", []rbacv1.PolicyRule{rule(l("get"), l("apps"), l("*/scale"))}, []rbacv1.PolicyRule{rule(l("get"), l("apps"), l("deployments/scale"))}, true, 0},
		{"names narrower are covered", []rbacv1.PolicyRule{rule(l("get"), l(""), l("secrets"))}, []rbacv1.PolicyRule{rule(l("get"), l(""), l("secrets"), "a")}, true, 0},
		{"names do not cover all", []rbacv1.PolicyRule{rule(l("get"), l(""), l("secrets"), "a")}, []rbacv1.PolicyRule{rule(l("get"), l(""), l("secrets"))}, false, 1},
		{"a star is not covered by a list", []rbacv1.PolicyRule{rule(l("get", "list"), l(""), l("pods"))}, []rbacv1.PolicyRule{rule(l("*"), l(""), l("pods"))}, false, 1},
		{"url prefix", []rbacv1.PolicyRule{{Verbs: l("get"), NonResourceURLs: l("/apis/*")}}, []rbacv1.PolicyRule{{Verbs: l("get"), NonResourceURLs: l("/apis/apps")}}, true, 0},
		{"url missing", []rbacv1.PolicyRule{{Verbs: l("get"), NonResourceURLs: l("/healthz")}}, []rbacv1.PolicyRule{{Verbs: l("get"), NonResourceURLs: l("/metrics", "/healthz")}}, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, missing := Covers(tc.owner, tc.requested)
			if ok != tc.covered || len(missing) != tc.missing {
				t.Errorf("covered %v with %d missing (%v), want %v with %d", ok, len(missing), missing, tc.covered, tc.missing)
			}
		})
	}
}

func TestCompactString(t *testing.T) {
	got := CompactString(rule(l("get", "list"), l("", "apps"), l("pods"), "a"))
	want := `{APIGroups:["" "apps"], Resources:["pods"], ResourceNames:["a"], Verbs:["get" "list"]}`
	if got != want {
		t.Errorf("%s, want %s", got, want)
	}
}
