package validatingadmissionpolicybinding

import (
	"context"
	"reflect"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func ptr[T any](v T) *T { return &v }

func demo() *admissionregistrationv1.ValidatingAdmissionPolicyBinding {
	return &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "demo-binding-test.example.com"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        "demo-policy.example.com",
			ValidationActions: []admissionregistrationv1.ValidationAction{"Deny"},
			MatchResources:    &admissionregistrationv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"environment": "test"}}},
		},
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		modify func(*admissionregistrationv1.ValidatingAdmissionPolicyBinding)
		want   []string
	}{
		{name: "valid", modify: func(*admissionregistrationv1.ValidatingAdmissionPolicyBinding) {}},
		{name: "no policy, no actions", modify: func(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
			b.Spec.PolicyName, b.Spec.ValidationActions = "", nil
		}, want: []string{"spec.policyName: Required value", "spec.validationActions: Required value: at least one validation action is required"}},
		{name: "deny and warn", modify: func(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
			b.Spec.ValidationActions = []admissionregistrationv1.ValidationAction{"Deny", "Warn", "Deny", "Log"}
		}, want: []string{`spec.validationActions[2]: Duplicate value: "Deny"`, `spec.validationActions[3]: Unsupported value: "Log": supported values: "Audit", "Deny", "Warn"`, "must not contain both Deny and Warn"}},
		{name: "paramRef without name or selector", modify: func(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
			b.Spec.ParamRef = &admissionregistrationv1.ParamRef{}
		}, want: []string{"spec.paramRef: Required value: one of name or selector must be specified", "spec.paramRef.parameterNotFoundAction: Required value"}},
		{name: "paramRef with both", modify: func(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
			b.Spec.ParamRef = &admissionregistrationv1.ParamRef{Name: "p", Selector: &metav1.LabelSelector{}, ParameterNotFoundAction: ptr(admissionregistrationv1.AllowAction)}
		}, want: []string{"spec.paramRef.name: Forbidden: name and selector are mutually exclusive", "spec.paramRef.selector: Forbidden: name and selector are mutually exclusive"}},
		{name: "bad selector", modify: func(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
			b.Spec.MatchResources.ObjectSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b c"}}
		}, want: []string{"spec.matchResources.objectSelector.matchLabels: Invalid value"}},
	}
	r := Resource()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := demo()
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

func TestTable(t *testing.T) {
	b := demo()
	for _, tc := range []struct {
		ref  *admissionregistrationv1.ParamRef
		cell string
	}{
		{nil, "<unset>"},
		{&admissionregistrationv1.ParamRef{Name: "limits", Namespace: "default"}, "default/limits"},
		{&admissionregistrationv1.ParamRef{Name: "limits"}, "*/limits"},
	} {
		b.Spec.ParamRef = tc.ref
		row, _ := Resource().Table.Row(b)
		if want := []interface{}{"demo-binding-test.example.com", "demo-policy.example.com", tc.cell, "<unknown>"}; !reflect.DeepEqual(row, want) {
			t.Errorf("row %#v, want %#v", row, want)
		}
	}
}
