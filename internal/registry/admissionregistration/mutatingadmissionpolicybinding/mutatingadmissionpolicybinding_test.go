package mutatingadmissionpolicybinding

import (
	"context"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		modify func(*admissionregistrationv1.MutatingAdmissionPolicyBinding)
		want   []string
	}{
		{name: "valid", modify: func(*admissionregistrationv1.MutatingAdmissionPolicyBinding) {}},
		{name: "no policy", modify: func(b *admissionregistrationv1.MutatingAdmissionPolicyBinding) {
			b.Spec.PolicyName = ""
		}, want: []string{"spec.policyName: Required value"}},
		{name: "bad policy name", modify: func(b *admissionregistrationv1.MutatingAdmissionPolicyBinding) {
			b.Spec.PolicyName = "Not_A_Name"
		}, want: []string{`spec.policyName: Invalid value: "Not_A_Name"`}},
		{name: "paramRef without name or selector", modify: func(b *admissionregistrationv1.MutatingAdmissionPolicyBinding) {
			b.Spec.ParamRef = &admissionregistrationv1.ParamRef{}
		}, want: []string{"spec.paramRef: Required value: one of name or selector must be specified", "spec.paramRef.parameterNotFoundAction: Required value"}},
		{name: "delete", modify: func(b *admissionregistrationv1.MutatingAdmissionPolicyBinding) {
			b.Spec.MatchResources.ResourceRules = []admissionregistrationv1.NamedRuleWithOperations{{RuleWithOperations: admissionregistrationv1.RuleWithOperations{
				Operations: []admissionregistrationv1.OperationType{"DELETE"},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			}}}
		}, want: []string{`spec.matchResources.resourceRules.operations: Unsupported value: "DELETE"`}},
		{name: "static name", modify: func(b *admissionregistrationv1.MutatingAdmissionPolicyBinding) {
			b.Name = "b.static.k8s.io"
		}, want: []string{"metadata.name: Invalid value"}},
	}
	r := Resource()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := &admissionregistrationv1.MutatingAdmissionPolicyBinding{
				ObjectMeta: metav1.ObjectMeta{Name: "sidecar-binding"},
				Spec: admissionregistrationv1.MutatingAdmissionPolicyBindingSpec{
					PolicyName:     "sidecar-policy.example.com",
					MatchResources: &admissionregistrationv1.MatchResources{},
				},
			}
			tc.modify(b)
			r.Hooks.Default(b)
			errs := r.Hooks.Validate(context.Background(), b)
			if len(errs) != len(tc.want) {
				t.Fatalf("got %v, want %q", errs, tc.want)
			}
			for i, e := range errs {
				if !strings.Contains(e.Error(), tc.want[i]) {
					t.Errorf("error %d: %q, want %q", i, e.Error(), tc.want[i])
				}
			}
		})
	}
}
