package clusterrole

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

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		cr   rbacv1.ClusterRole
		want []string
	}{
		{name: "resources and URLs in separate rules", cr: rbacv1.ClusterRole{Rules: []rbacv1.PolicyRule{
			{Verbs: []string{"get", "list", "watch"}, APIGroups: []string{"", "apps"}, Resources: []string{"pods", "deployments"}},
			{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz", "/metrics"}},
		}}},
		{name: "aggregated", cr: rbacv1.ClusterRole{AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{
			{MatchLabels: map[string]string{"rbac.example.com/aggregate-to-monitoring": "true"}},
		}}}},
		{name: "URL and resources together", cr: rbacv1.ClusterRole{Rules: []rbacv1.PolicyRule{
			{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}, APIGroups: []string{""}},
		}}, want: []string{"rules[0].nonResourceURLs: Invalid value"}},
		{name: "no verbs", cr: rbacv1.ClusterRole{Rules: []rbacv1.PolicyRule{{NonResourceURLs: []string{"/healthz"}}}},
			want: []string{"rules[0].verbs: Required value"}},
		{name: "empty aggregation", cr: rbacv1.ClusterRole{AggregationRule: &rbacv1.AggregationRule{}},
			want: []string{"aggregationRule.clusterRoleSelectors: Required value"}},
		{name: "bad selector", cr: rbacv1.ClusterRole{AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{
			{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Equals", Values: []string{"b"}}}},
		}}}, want: []string{"aggregationRule.clusterRoleSelectors[0].matchExpressions[0].operator: Invalid value", "aggregationRule.clusterRoleSelectors[0]: Invalid value"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.cr.Name = "monitoring"
			got := errKeys(Resource().Hooks.Validate(context.Background(), &tc.cr))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	old := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "view-extra"},
		Rules:      []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}},
	}
	cr := old.DeepCopy()
	cr.Rules = append(cr.Rules, rbacv1.PolicyRule{Verbs: []string{"get"}, NonResourceURLs: []string{"/metrics"}})
	if errs := Resource().Hooks.ValidateUpdate(context.Background(), cr, old); len(errs) != 0 {
		t.Errorf("adding a rule: %v", errs)
	}
	cr.Rules[1].Verbs = nil
	got := errKeys(Resource().Hooks.ValidateUpdate(context.Background(), cr, old))
	if want := []string{"rules[1].verbs: Required value"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
