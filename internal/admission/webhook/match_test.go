package webhook

import (
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kemudi/kemudi/internal/auth"
)

func TestMatchesRules(t *testing.T) {
	scope := func(s admissionv1.ScopeType) *admissionv1.ScopeType { return &s }
	rule := func(ops []admissionv1.OperationType, groups, versions, resources []string, s *admissionv1.ScopeType) admissionv1.RuleWithOperations {
		return admissionv1.RuleWithOperations{Operations: ops, Rule: admissionv1.Rule{APIGroups: groups, APIVersions: versions, Resources: resources, Scope: s}}
	}
	create := []admissionv1.OperationType{admissionv1.Create}
	all := []admissionv1.OperationType{admissionv1.OperationAll}
	pod := &auth.AdmissionRequest{Operation: auth.Create, APIGroup: "", Version: "v1", Resource: "pods", Namespaced: true, Namespace: "default"}
	podStatus := &auth.AdmissionRequest{Operation: auth.Update, APIGroup: "", Version: "v1", Resource: "pods", Subresource: "status", Namespaced: true, Namespace: "default"}
	ns := &auth.AdmissionRequest{Operation: auth.Update, APIGroup: "", Version: "v1", Resource: "namespaces", Name: "x"}
	node := &auth.AdmissionRequest{Operation: auth.Create, APIGroup: "", Version: "v1", Resource: "nodes"}
	deploy := &auth.AdmissionRequest{Operation: auth.Create, APIGroup: "apps", Version: "v1", Resource: "deployments", Namespaced: true, Namespace: "default"}
	served := func(gr schema.GroupResource) []string {
		if gr == (schema.GroupResource{Group: "apps", Resource: "deployments"}) {
			return []string{"v1"}
		}
		return nil
	}
	exact, equivalent := admissionv1.Exact, admissionv1.Equivalent
	cases := []struct {
		name  string
		rule  admissionv1.RuleWithOperations
		match *admissionv1.MatchPolicyType
		req   *auth.AdmissionRequest
		want  bool
	}{
		{"pods create", rule(create, []string{""}, []string{"v1"}, []string{"pods"}, nil), nil, pod, true},
		{"other operation", rule([]admissionv1.OperationType{admissionv1.Delete}, []string{""}, []string{"v1"}, []string{"pods"}, nil), nil, pod, false},
		{"wildcards", rule(all, []string{"*"}, []string{"*"}, []string{"*"}, nil), nil, pod, true},
		{"* has no subresources", rule(all, []string{"*"}, []string{"*"}, []string{"*"}, nil), nil, podStatus, false},
		{"pods/* has status", rule(all, []string{""}, []string{"v1"}, []string{"pods/*"}, nil), nil, podStatus, true},
		{"*/status", rule(all, []string{""}, []string{"v1"}, []string{"*/status"}, nil), nil, podStatus, true},
		{"*/* everything", rule(all, []string{"*"}, []string{"*"}, []string{"*/*"}, nil), nil, pod, true},
		{"pods is not pods/status", rule(all, []string{""}, []string{"v1"}, []string{"pods"}, nil), nil, podStatus, false},
		{"other group", rule(create, []string{"apps"}, []string{"v1"}, []string{"pods"}, nil), nil, pod, false},
		{"namespaced scope", rule(all, []string{"*"}, []string{"*"}, []string{"*"}, scope(admissionv1.NamespacedScope)), nil, pod, true},
		{"namespaced scope, node", rule(all, []string{"*"}, []string{"*"}, []string{"*"}, scope(admissionv1.NamespacedScope)), nil, node, false},
		{"cluster scope, node", rule(all, []string{"*"}, []string{"*"}, []string{"*"}, scope(admissionv1.ClusterScope)), nil, node, true},
		{"namespaces are cluster-scoped", rule(all, []string{"*"}, []string{"*"}, []string{"*"}, scope(admissionv1.ClusterScope)), nil, ns, true},
		{"namespaces are not namespaced", rule(all, []string{"*"}, []string{"*"}, []string{"*"}, scope(admissionv1.NamespacedScope)), nil, ns, false},
		{"v1beta1 exact", rule(create, []string{"apps"}, []string{"v1beta1"}, []string{"deployments"}, nil), &exact, deploy, false},
		{"v1beta1 equivalent, v1 not listed", rule(create, []string{"apps"}, []string{"v1beta1"}, []string{"deployments"}, nil), &equivalent, deploy, false},
		{"v1beta1 and v1 equivalent", rule(create, []string{"apps"}, []string{"v1beta1", "v1"}, []string{"deployments"}, nil), &equivalent, deploy, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := &admissionv1.ValidatingWebhook{Rules: []admissionv1.RuleWithOperations{tc.rule}, MatchPolicy: tc.match}
			if got := matchesRules(w, tc.req, served); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
