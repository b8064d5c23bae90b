package webhook

import (
	"context"
	"errors"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime"
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
	hpa := &auth.AdmissionRequest{Operation: auth.Create, APIGroup: "autoscaling", Version: "v2", Resource: "horizontalpodautoscalers", Namespaced: true, Namespace: "default",
		Versions: servedVersions{"v2", "v1"}}
	crd := &auth.AdmissionRequest{Operation: auth.Create, APIGroup: "stable.example.com", Version: "v1", Resource: "crontabs", Namespaced: true, Namespace: "default",
		Versions: servedVersions{"v3", "v2", "v1"}}
	exact, equivalent := admissionv1.Exact, admissionv1.Equivalent
	cases := []struct {
		name    string
		rule    admissionv1.RuleWithOperations
		match   *admissionv1.MatchPolicyType
		req     *auth.AdmissionRequest
		want    bool
		version string // the version the webhook sees ("" the request's)
	}{
		{"pods create", rule(create, []string{""}, []string{"v1"}, []string{"pods"}, nil), nil, pod, true, ""},
		{"other operation", rule([]admissionv1.OperationType{admissionv1.Delete}, []string{""}, []string{"v1"}, []string{"pods"}, nil), nil, pod, false, ""},
		{"wildcards", rule(all, []string{"*"}, []string{"*"}, []string{"*"}, nil), nil, pod, true, ""},
		{"* has no subresources", rule(all, []string{"*"}, []string{"*"}, []string{"*"}, nil), nil, podStatus, false, ""},
		{"pods/* has status", rule(all, []string{""}, []string{"v1"}, []string{"pods/*"}, nil), nil, podStatus, true, ""},
		{"*/status", rule(all, []string{""}, []string{"v1"}, []string{"*/status"}, nil), nil, podStatus, true, ""},
		{"*/* everything", rule(all, []string{"*"}, []string{"*"}, []string{"*/*"}, nil), nil, pod, true, ""},
		{"pods is not pods/status", rule(all, []string{""}, []string{"v1"}, []string{"pods"}, nil), nil, podStatus, false, ""},
		{"other group", rule(create, []string{"apps"}, []string{"v1"}, []string{"pods"}, nil), nil, pod, false, ""},
		{"namespaced scope", rule(all, []string{"*"}, []string{"*"}, []string{"*"}, scope(admissionv1.NamespacedScope)), nil, pod, true, ""},
		{"namespaced scope, node", rule(all, []string{"*"}, []string{"*"}, []string{"*"}, scope(admissionv1.NamespacedScope)), nil, node, false, ""},
		{"cluster scope, node", rule(all, []string{"*"}, []string{"*"}, []string{"*"}, scope(admissionv1.ClusterScope)), nil, node, true, ""},
		{"namespaces are cluster-scoped", rule(all, []string{"*"}, []string{"*"}, []string{"*"}, scope(admissionv1.ClusterScope)), nil, ns, true, ""},
		{"namespaces are not namespaced", rule(all, []string{"*"}, []string{"*"}, []string{"*"}, scope(admissionv1.NamespacedScope)), nil, ns, false, ""},
		{"v1beta1 exact", rule(create, []string{"apps"}, []string{"v1beta1"}, []string{"deployments"}, nil), &exact, deploy, false, ""},
		{"v1beta1 equivalent, not served", rule(create, []string{"apps"}, []string{"v1beta1"}, []string{"deployments"}, nil), &equivalent, deploy, false, ""},
		{"v1beta1 and v1 equivalent", rule(create, []string{"apps"}, []string{"v1beta1", "v1"}, []string{"deployments"}, nil), &equivalent, deploy, true, ""},
		{"hpa v1 rule, v2 request, exact", rule(create, []string{"autoscaling"}, []string{"v1"}, []string{"horizontalpodautoscalers"}, nil), &exact, hpa, false, ""},
		{"hpa v1 rule, v2 request, equivalent", rule(create, []string{"autoscaling"}, []string{"v1"}, []string{"horizontalpodautoscalers"}, nil), &equivalent, hpa, true, "v1"},
		{"hpa, matchPolicy unset is Equivalent", rule(create, []string{"autoscaling"}, []string{"v1"}, []string{"horizontalpodautoscalers"}, nil), nil, hpa, true, "v1"},
		{"hpa, another resource", rule(create, []string{"autoscaling"}, []string{"v1"}, []string{"pods"}, nil), &equivalent, hpa, false, ""},
		{"crd, the first served version a rule names", rule(create, []string{"*"}, []string{"v1beta1", "v2", "v3"}, []string{"crontabs"}, nil), &equivalent, crd, true, "v3"},
		{"crd, own version first", rule(create, []string{"*"}, []string{"v1", "v3"}, []string{"crontabs"}, nil), &equivalent, crd, true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := &admissionv1.ValidatingWebhook{Rules: []admissionv1.RuleWithOperations{tc.rule}, MatchPolicy: tc.match}
			if got, v := matchesRules(w, tc.req); got != tc.want || v != tc.version {
				t.Errorf("got %v in %q, want %v in %q", got, v, tc.want, tc.version)
			}
		})
	}
}

// servedVersions are auth.Versions that only list versions.
type servedVersions []string

func (s servedVersions) Served() []string { return s }

func (servedVersions) Convert(context.Context, runtime.Object, string, string) (runtime.Object, schema.GroupVersionKind, error) {
	return nil, schema.GroupVersionKind{}, errors.New("not converted")
}

func (servedVersions) Default(runtime.Object, string) {}
