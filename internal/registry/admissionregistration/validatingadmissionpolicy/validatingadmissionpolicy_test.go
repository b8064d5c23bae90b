package validatingadmissionpolicy

import (
	"context"
	"reflect"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func ptr[T any](v T) *T { return &v }

func demo() *admissionregistrationv1.ValidatingAdmissionPolicy {
	return &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "demo-policy.example.com"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			MatchConstraints: &admissionregistrationv1.MatchResources{
				ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{"CREATE", "UPDATE"},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"deployments"}},
				}}},
			},
			Validations: []admissionregistrationv1.Validation{{Expression: "object.spec.replicas <= 5"}},
		},
	}
}

func errStrings(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

func TestDefault(t *testing.T) {
	p := demo()
	Resource().Hooks.Default(p)
	m := p.Spec.MatchConstraints
	if *p.Spec.FailurePolicy != admissionregistrationv1.Fail || *m.MatchPolicy != admissionregistrationv1.Equivalent ||
		m.NamespaceSelector == nil || m.ObjectSelector == nil || *m.ResourceRules[0].Scope != admissionregistrationv1.AllScopes {
		t.Errorf("defaults: %+v %+v", p.Spec.FailurePolicy, m)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		modify func(*admissionregistrationv1.ValidatingAdmissionPolicy)
		want   []string // substrings, one per error, in order
	}{
		{name: "valid", modify: func(*admissionregistrationv1.ValidatingAdmissionPolicy) {}},
		{name: "syntax error", modify: func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
			p.Spec.Validations[0].Expression = "object.spec.replicas <="
		}, want: []string{`spec.validations[0].expression: Invalid value: "object.spec.replicas <=": compilation failed: ERROR: <input>:1:24: Syntax error`}},
		{name: "undeclared reference", modify: func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
			p.Spec.Validations[0].Expression = "params.max > 1"
		}, want: []string{`spec.validations[0].expression: Invalid value: "params.max > 1": compilation failed: ERROR: <input>:1:1: undeclared reference to 'params'`}},
		{name: "params with paramKind", modify: func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
			p.Spec.ParamKind = &admissionregistrationv1.ParamKind{APIVersion: "v1", Kind: "ConfigMap"}
			p.Spec.Validations[0].Expression = "object.spec.replicas <= int(params.data.max)"
		}},
		{name: "not a bool", modify: func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
			p.Spec.Validations[0].Expression = "object.spec.replicas"
		}, want: []string{"spec.validations[0].expression: Invalid value"}},
		{name: "variables", modify: func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
			p.Spec.Variables = []admissionregistrationv1.Variable{{Name: "max", Expression: "5"}, {Name: "in", Expression: "1"}}
			p.Spec.Validations[0].Expression = "object.spec.replicas <= variables.max"
		}, want: []string{`spec.variables[1].name: Invalid value: "in": must be a valid CEL identifier`}},
		{name: "bad messageExpression", modify: func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
			p.Spec.Validations[0].MessageExpression = "'a' +"
		}, want: []string{"spec.validations[0].messageExpression: Invalid value"}},
		{name: "reason and message", modify: func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
			p.Spec.Validations[0].Reason = ptr(metav1.StatusReasonNotFound)
			p.Spec.Validations[0].Message = "a\nb"
		}, want: []string{"spec.validations[0].message: Invalid value: \"a\\nb\": must not contain line breaks", `spec.validations[0].reason: Unsupported value: "NotFound"`}},
		{name: "nothing to check", modify: func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
			p.Spec.Validations = nil
		}, want: []string{"spec.validations: Required value: validations or auditAnnotations must contain at least one item", "spec.auditAnnotations: Required value"}},
		{name: "no rules", modify: func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
			p.Spec.MatchConstraints.ResourceRules = nil
		}, want: []string{"spec.matchConstraints.resourceRules: Required value"}},
		{name: "no matchConstraints", modify: func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
			p.Spec.MatchConstraints = nil
		}, want: []string{"spec.matchConstraints: Required value"}},
		{name: "rule errors", modify: func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
			r := &p.Spec.MatchConstraints.ResourceRules[0]
			r.Operations = []admissionregistrationv1.OperationType{"*", "CREATE"}
			r.Resources = []string{"*", "pods"}
			r.APIVersions = nil
		}, want: []string{"operations: Invalid value", "apiVersions: Required value", "if '*' is present, must not specify other resources without subresources"}},
		{name: "bad paramKind", modify: func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
			p.Spec.ParamKind = &admissionregistrationv1.ParamKind{APIVersion: "a/b/c"}
		}, want: []string{`spec.paramKind.apiVersion: Invalid value: "a/b/c": unexpected GroupVersion string: a/b/c`, "spec.paramKind.kind: Required value"}},
		{name: "bad failurePolicy", modify: func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
			p.Spec.FailurePolicy = ptr(admissionregistrationv1.FailurePolicyType("Maybe"))
		}, want: []string{`spec.failurePolicy: Unsupported value: "Maybe": supported values: "Fail", "Ignore"`}},
		{name: "matchCondition", modify: func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
			p.Spec.MatchConditions = []admissionregistrationv1.MatchCondition{{Name: "x", Expression: "request.nope"}, {Name: "x", Expression: "true"}}
		}, want: []string{"spec.matchConditions[0].expression: Invalid value", `spec.matchConditions[1].name: Duplicate value: "x"`}},
		{name: "audit annotations", modify: func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
			p.Spec.AuditAnnotations = []admissionregistrationv1.AuditAnnotation{{Key: "k", ValueExpression: "'v'"}, {Key: "k", ValueExpression: ""}}
		}, want: []string{"spec.auditAnnotations[1].valueExpression: Required value: valueExpression is not specified", `spec.auditAnnotations[1].key: Duplicate value: "k"`}},
		{name: "static suffix", modify: func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
			p.Name = "x.static.k8s.io"
		}, want: []string{`metadata.name: Invalid value: "x.static.k8s.io": names ending with ".static.k8s.io" are reserved`}},
	}
	r := Resource()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := demo()
			tc.modify(p)
			r.Hooks.Default(p)
			got := errStrings(r.Hooks.Validate(context.Background(), p))
			if len(got) != len(tc.want) {
				t.Fatalf("got %d errors %q, want %q", len(got), got, tc.want)
			}
			for i := range got {
				if !strings.Contains(got[i], tc.want[i]) {
					t.Errorf("error %d: %q, want it to contain %q", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestTable(t *testing.T) {
	p := demo()
	row, _ := Resource().Table.Row(p)
	if want := []interface{}{"demo-policy.example.com", int64(1), "<unset>", "<unknown>"}; !reflect.DeepEqual(row, want) {
		t.Errorf("row %#v, want %#v", row, want)
	}
	p.Spec.ParamKind = &admissionregistrationv1.ParamKind{APIVersion: "v1", Kind: "ConfigMap"}
	if row, _ := Resource().Table.Row(p); row[2] != "v1/ConfigMap" {
		t.Errorf("paramKind cell %q", row[2])
	}
}
