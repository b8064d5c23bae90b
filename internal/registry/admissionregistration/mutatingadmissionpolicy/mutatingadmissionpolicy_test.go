package mutatingadmissionpolicy

import (
	"context"
	"reflect"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func demo() *admissionregistrationv1.MutatingAdmissionPolicy {
	return &admissionregistrationv1.MutatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "sidecar-policy.example.com", Generation: 1},
		Spec: admissionregistrationv1.MutatingAdmissionPolicySpec{
			MatchConstraints: &admissionregistrationv1.MatchResources{
				ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{"CREATE"},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
				}}},
			},
			Mutations: []admissionregistrationv1.Mutation{{
				PatchType:          admissionregistrationv1.PatchTypeApplyConfiguration,
				ApplyConfiguration: &admissionregistrationv1.ApplyConfiguration{Expression: `Object{metadata: Object.metadata{labels: {"injected": "true"}}}`},
			}},
			ReinvocationPolicy: admissionregistrationv1.NeverReinvocationPolicy,
		},
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		modify func(*admissionregistrationv1.MutatingAdmissionPolicy)
		want   []string
	}{
		{name: "valid", modify: func(*admissionregistrationv1.MutatingAdmissionPolicy) {}},
		{name: "valid JSONPatch with params and variables", modify: func(p *admissionregistrationv1.MutatingAdmissionPolicy) {
			p.Spec.ParamKind = &admissionregistrationv1.ParamKind{APIVersion: "v1", Kind: "ConfigMap"}
			p.Spec.Variables = []admissionregistrationv1.Variable{{Name: "team", Expression: "params.data.team"}}
			p.Spec.Mutations = []admissionregistrationv1.Mutation{{PatchType: admissionregistrationv1.PatchTypeJSONPatch, JSONPatch: &admissionregistrationv1.JSONPatch{
				Expression: `[JSONPatch{op: "add", path: "/metadata/labels", value: {"team": variables.team}}]`,
			}}}
		}},
		{name: "nothing", modify: func(p *admissionregistrationv1.MutatingAdmissionPolicy) {
			p.Spec = admissionregistrationv1.MutatingAdmissionPolicySpec{}
		}, want: []string{
			"spec.failurePolicy: Required value",
			"spec.matchConstraints: Required value",
			"spec.mutations: Required value: mutations must contain at least one item",
			"spec.reinvocationPolicy: Required value",
		}},
		{name: "delete is not mutable", modify: func(p *admissionregistrationv1.MutatingAdmissionPolicy) {
			p.Spec.MatchConstraints.ResourceRules[0].Operations = []admissionregistrationv1.OperationType{"DELETE"}
		}, want: []string{`spec.matchConstraints.resourceRules.operations: Unsupported value: "DELETE": supported values: "*", "CONNECT", "CREATE", "UPDATE"`}},
		{name: "wrong return type", modify: func(p *admissionregistrationv1.MutatingAdmissionPolicy) {
			p.Spec.Mutations[0].ApplyConfiguration.Expression = `"a string"`
		}, want: []string{"spec.mutations[0].applyConfiguration.expression: Invalid value: \"\\\"a string\\\"\": must evaluate to Object"}},
		{name: "patch type mismatch", modify: func(p *admissionregistrationv1.MutatingAdmissionPolicy) {
			p.Spec.Mutations[0].PatchType = admissionregistrationv1.PatchTypeJSONPatch
		}, want: []string{
			"spec.mutations[0].jsonPatch: Required value: must be specified when patchType is JSONPatch",
			`spec.mutations[0].applyConfiguration: Invalid value: "{applyConfiguration}": must not be specified when patchType is JSONPatch`,
		}},
		{name: "unknown patch type and reinvocation", modify: func(p *admissionregistrationv1.MutatingAdmissionPolicy) {
			p.Spec.Mutations[0].PatchType = "Merge"
			p.Spec.ReinvocationPolicy = "Always"
		}, want: []string{
			`spec.mutations[0].patchType: Unsupported value: "Merge": supported values: "ApplyConfiguration", "JSONPatch"`,
			`spec.reinvocationPolicy: Unsupported value: "Always": supported values: "IfNeeded", "Never"`,
		}},
		{name: "params without paramKind", modify: func(p *admissionregistrationv1.MutatingAdmissionPolicy) {
			p.Spec.Mutations[0].ApplyConfiguration.Expression = `Object{metadata: Object.metadata{labels: params.data}}`
		}, want: []string{"spec.mutations[0].applyConfiguration.expression: Invalid value"}},
		{name: "static name", modify: func(p *admissionregistrationv1.MutatingAdmissionPolicy) {
			p.Name = "x.static.k8s.io"
		}, want: []string{"metadata.name: Invalid value"}},
	}
	r := Resource()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := demo()
			tc.modify(p)
			r.Hooks.Default(p)
			if tc.name == "nothing" {
				p.Spec.FailurePolicy = nil
			}
			errs := r.Hooks.Validate(context.Background(), p)
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

func TestDefault(t *testing.T) {
	p := demo()
	Resource().Hooks.Default(p)
	if p.Spec.FailurePolicy == nil || *p.Spec.FailurePolicy != admissionregistrationv1.Fail {
		t.Errorf("failurePolicy %v, want Fail", p.Spec.FailurePolicy)
	}
	m := p.Spec.MatchConstraints
	if m.MatchPolicy == nil || *m.MatchPolicy != admissionregistrationv1.Equivalent || m.NamespaceSelector == nil || m.ObjectSelector == nil || m.ResourceRules[0].Scope == nil {
		t.Errorf("match constraints not defaulted: %+v", m)
	}
	if p.Spec.ReinvocationPolicy != admissionregistrationv1.NeverReinvocationPolicy {
		t.Errorf("reinvocationPolicy changed to %q", p.Spec.ReinvocationPolicy)
	}
}

func TestTable(t *testing.T) {
	p := demo()
	p.Spec.ParamKind = &admissionregistrationv1.ParamKind{APIVersion: "v1", Kind: "ConfigMap"}
	row, err := Resource().Table.Row(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := []interface{}{"sidecar-policy.example.com", int64(1), "v1/ConfigMap", "<unknown>"}; !reflect.DeepEqual(row, want) {
		t.Errorf("row %#v, want %#v", row, want)
	}
}
