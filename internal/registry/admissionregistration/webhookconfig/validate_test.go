package webhookconfig

import (
	"reflect"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func valid() admissionv1.ValidatingWebhook {
	url := "https://127.0.0.1:8443/validate"
	none := admissionv1.SideEffectClassNone
	w := admissionv1.ValidatingWebhook{
		Name:         "x.example.com",
		ClientConfig: admissionv1.WebhookClientConfig{URL: &url},
		Rules: []admissionv1.RuleWithOperations{{
			Operations: []admissionv1.OperationType{admissionv1.Create},
			Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
		}},
		SideEffects:             &none,
		AdmissionReviewVersions: []string{"v1"},
	}
	Default(&w)
	return w
}

func TestValidateWebhooks(t *testing.T) {
	cases := []struct {
		name   string
		modify func(w *admissionv1.ValidatingWebhook)
		want   []string
	}{
		{"valid", func(*admissionv1.ValidatingWebhook) {}, nil},
		{"two-segment name", func(w *admissionv1.ValidatingWebhook) { w.Name = "example.com" }, []string{"webhooks[0].name: Invalid value"}},
		{"no side effects", func(w *admissionv1.ValidatingWebhook) { w.SideEffects = nil }, []string{"webhooks[0].sideEffects: Required value"}},
		{"unknown review version only", func(w *admissionv1.ValidatingWebhook) { w.AdmissionReviewVersions = []string{"v2"} }, []string{"webhooks[0].admissionReviewVersions: Invalid value"}},
		{"url and service", func(w *admissionv1.ValidatingWebhook) {
			w.ClientConfig.Service = &admissionv1.ServiceReference{Namespace: "ns", Name: "svc"}
		}, []string{"webhooks[0].clientConfig: Required value"}},
		{"service without namespace", func(w *admissionv1.ValidatingWebhook) {
			w.ClientConfig = admissionv1.WebhookClientConfig{Service: &admissionv1.ServiceReference{Name: "svc"}}
		}, []string{"webhooks[0].clientConfig.service.namespace: Required value"}},
		{"wildcard with others", func(w *admissionv1.ValidatingWebhook) {
			w.Rules[0].Operations = []admissionv1.OperationType{"*", "CREATE"}
		}, []string{"webhooks[0].rules[0].operations: Invalid value"}},
		{"unknown operation", func(w *admissionv1.ValidatingWebhook) { w.Rules[0].Operations = []admissionv1.OperationType{"PATCH"} }, []string{"webhooks[0].rules[0].operations[0]: Unsupported value"}},
		{"overlapping subresources", func(w *admissionv1.ValidatingWebhook) { w.Rules[0].Resources = []string{"pods/*", "pods/status"} }, []string{"webhooks[0].rules[0].resources[1]: Invalid value"}},
		{"*/* with others", func(w *admissionv1.ValidatingWebhook) { w.Rules[0].Resources = []string{"*/*", "pods"} }, []string{"webhooks[0].rules[0].resources: Invalid value"}},
		{"bad scope", func(w *admissionv1.ValidatingWebhook) { s := admissionv1.ScopeType("Global"); w.Rules[0].Scope = &s }, []string{"webhooks[0].rules[0].scope: Unsupported value"}},
		{"timeout 0", func(w *admissionv1.ValidatingWebhook) { z := int32(0); w.TimeoutSeconds = &z }, []string{"webhooks[0].timeoutSeconds: Invalid value"}},
		{"match condition", func(w *admissionv1.ValidatingWebhook) {
			w.MatchConditions = []admissionv1.MatchCondition{{Name: "ok", Expression: "request.userInfo.username != 'x'"}}
		}, nil},
		{"match condition not bool", func(w *admissionv1.ValidatingWebhook) {
			w.MatchConditions = []admissionv1.MatchCondition{{Name: "n", Expression: "1 + 1"}}
		}, []string{"webhooks[0].matchConditions[0].expression: Invalid value"}},
		{"match condition names", func(w *admissionv1.ValidatingWebhook) {
			w.MatchConditions = []admissionv1.MatchCondition{{Name: "a", Expression: "true"}, {Name: "a", Expression: "true"}, {Expression: "true"}}
		}, []string{"webhooks[0].matchConditions[1].name: Duplicate value", "webhooks[0].matchConditions[2].name: Required value"}},
	}
	v := NewValidator()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := valid()
			tc.modify(&w)
			var got []string
			for _, e := range v.ValidateWebhooks(field.NewPath("webhooks"), []admissionv1.ValidatingWebhook{w}, nil) {
				got = append(got, e.Field+": "+e.Type.String())
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	dup := []admissionv1.ValidatingWebhook{valid(), valid()}
	if errs := v.ValidateWebhooks(field.NewPath("webhooks"), dup, nil); len(errs) != 1 || errs[0].Field != "webhooks[1].name" || errs[0].Type != field.ErrorTypeDuplicate {
		t.Errorf("duplicate names: %v", errs)
	}
}

func TestDefault(t *testing.T) {
	var m admissionv1.MutatingWebhook
	m.Rules = []admissionv1.RuleWithOperations{{}}
	m.ClientConfig.Service = &admissionv1.ServiceReference{}
	DefaultMutating(&m)
	if *m.FailurePolicy != admissionv1.Fail || *m.MatchPolicy != admissionv1.Equivalent || *m.TimeoutSeconds != 10 ||
		*m.ReinvocationPolicy != admissionv1.NeverReinvocationPolicy || *m.Rules[0].Scope != admissionv1.AllScopes ||
		*m.ClientConfig.Service.Port != 443 || m.NamespaceSelector == nil || m.ObjectSelector == nil || m.SideEffects != nil {
		t.Errorf("defaults: %+v", m)
	}
}
