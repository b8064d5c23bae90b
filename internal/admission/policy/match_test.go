package policy

import (
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kemudi/kemudi/internal/auth"
)

func TestMatchesRule(t *testing.T) {
	rule := func(ops []admissionregistrationv1.OperationType, groups, versions, resources []string, scope admissionregistrationv1.ScopeType, names ...string) *admissionregistrationv1.NamedRuleWithOperations {
		return &admissionregistrationv1.NamedRuleWithOperations{ResourceNames: names, RuleWithOperations: admissionregistrationv1.RuleWithOperations{
			Operations: ops, Rule: admissionregistrationv1.Rule{APIGroups: groups, APIVersions: versions, Resources: resources, Scope: &scope}}}
	}
	all := []admissionregistrationv1.OperationType{"*"}
	star := []string{"*"}
	req := func(op, group, resource, sub, ns, name string) *request {
		return &request{AdmissionRequest: &auth.AdmissionRequest{Operation: op, APIGroup: group, Resource: resource, Subresource: sub, Namespace: ns, Name: name},
			gvr: schema.GroupVersionResource{Group: group, Version: "v1", Resource: resource}}
	}
	cases := []struct {
		name string
		rule *admissionregistrationv1.NamedRuleWithOperations
		req  *request
		want bool
	}{
		{"exact", rule([]admissionregistrationv1.OperationType{"CREATE"}, []string{"apps"}, []string{"v1"}, []string{"deployments"}, "*"), req("CREATE", "apps", "deployments", "", "default", "web"), true},
		{"other operation", rule([]admissionregistrationv1.OperationType{"CREATE"}, []string{"apps"}, []string{"v1"}, []string{"deployments"}, "*"), req("DELETE", "apps", "deployments", "", "default", "web"), false},
		{"other group", rule(all, []string{""}, star, []string{"deployments"}, "*"), req("CREATE", "apps", "deployments", "", "default", "web"), false},
		{"other version", rule(all, star, []string{"v2"}, star, "*"), req("CREATE", "apps", "deployments", "", "default", "web"), false},
		{"resource does not match its subresource", rule(all, star, star, []string{"deployments"}, "*"), req("UPDATE", "apps", "deployments", "scale", "default", "web"), false},
		{"resource/sub", rule(all, star, star, []string{"deployments/scale"}, "*"), req("UPDATE", "apps", "deployments", "scale", "default", "web"), true},
		{"*/sub", rule(all, star, star, []string{"*/status"}, "*"), req("UPDATE", "", "pods", "status", "default", "p"), true},
		{"res/* matches the resource too", rule(all, star, star, []string{"pods/*"}, "*"), req("CREATE", "", "pods", "", "default", "p"), true},
		{"* does not match subresources", rule(all, star, star, star, "*"), req("UPDATE", "", "pods", "status", "default", "p"), false},
		{"*/* matches everything", rule(all, star, star, []string{"*/*"}, "*"), req("UPDATE", "", "pods", "status", "default", "p"), true},
		{"Namespaced scope, namespaced object", rule(all, star, star, star, "Namespaced"), req("CREATE", "", "pods", "", "default", "p"), true},
		{"Namespaced scope, node", rule(all, star, star, star, "Namespaced"), req("CREATE", "", "nodes", "", "", "n"), false},
		{"Cluster scope, namespace", rule(all, star, star, star, "Cluster"), req("CREATE", "", "namespaces", "", "", "ns"), true},
		{"Cluster scope, pod", rule(all, star, star, star, "Cluster"), req("CREATE", "", "pods", "", "default", "p"), false},
		{"resourceNames", rule(all, star, star, star, "*", "a", "b"), req("UPDATE", "", "pods", "", "default", "b"), true},
		{"resourceNames, other", rule(all, star, star, star, "*", "a"), req("UPDATE", "", "pods", "", "default", "b"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := matchesRule(tc.rule, tc.req); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
