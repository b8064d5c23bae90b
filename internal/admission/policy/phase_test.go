package policy

import (
	"context"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/kemudi/kemudi/internal/auth"
)

// webhookFunc stands in for the webhook plugin.
type webhookFunc func(r *auth.AdmissionRequest)

func (f webhookFunc) Mutate(_ context.Context, r *auth.AdmissionRequest) error { f(r); return nil }

func labelPolicy(name string, reinvoke admissionregistrationv1.ReinvocationPolicyType, expr string) *admissionregistrationv1.MutatingAdmissionPolicy {
	return &admissionregistrationv1.MutatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name, Generation: 1},
		Spec: admissionregistrationv1.MutatingAdmissionPolicySpec{
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{RuleWithOperations: admissionregistrationv1.RuleWithOperations{
				Operations: []admissionregistrationv1.OperationType{"*"},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
			}}}},
			Mutations:          []admissionregistrationv1.Mutation{{PatchType: admissionregistrationv1.PatchTypeApplyConfiguration, ApplyConfiguration: &admissionregistrationv1.ApplyConfiguration{Expression: expr}}},
			ReinvocationPolicy: reinvoke,
		},
	}
}

// TestMutatingPhase checks upstream's order and reinvocation: policies
// run before the webhooks, and an IfNeeded policy runs again after a
// webhook (or a later policy) changed the object; a Never one does not.
func TestMutatingPhase(t *testing.T) {
	// "saw" records whether the webhook's label was there when the policy ran.
	const sawWebhook = `Object{metadata: Object.metadata{labels: {"saw-webhook": string(has(object.metadata.labels) && "webhook" in object.metadata.labels)}}}`
	cases := []struct {
		name     string
		reinvoke admissionregistrationv1.ReinvocationPolicyType
		want     string
	}{
		{name: "never", reinvoke: admissionregistrationv1.NeverReinvocationPolicy, want: "false"},
		{name: "if needed", reinvoke: admissionregistrationv1.IfNeededReinvocationPolicy, want: "true"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := NewMutating(Config{Scheme: scheme.Scheme, Typer: scheme.Scheme})
			p.SetPolicy(labelPolicy("a-saw", tc.reinvoke, sawWebhook))
			p.SetBinding(&admissionregistrationv1.MutatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Spec: admissionregistrationv1.MutatingAdmissionPolicyBindingSpec{PolicyName: "a-saw"}})
			var webhookSaw string
			ph := MutatingPhase{Policies: p, Webhooks: webhookFunc(func(r *auth.AdmissionRequest) {
				cm := r.Object.(*corev1.ConfigMap).DeepCopy()
				webhookSaw = cm.Labels["saw-webhook"]
				cm.Labels["webhook"] = "yes"
				r.Object = cm
			})}
			r := &auth.AdmissionRequest{
				User: &auth.User{Name: "alice"}, Operation: auth.Create, Resource: "configmaps", Namespace: "ns", Name: "cm",
				Object:  &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Namespace: "ns", Labels: map[string]string{"app": "x"}}},
				Version: "v1", Kind: corev1.SchemeGroupVersion.WithKind("ConfigMap"), Namespaced: true,
			}
			if err := ph.Mutate(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			if webhookSaw != "false" {
				t.Errorf("the webhook saw saw-webhook=%q: the policy did not run before it", webhookSaw)
			}
			cm := r.Object.(*corev1.ConfigMap)
			if got := cm.Labels["saw-webhook"]; got != tc.want || cm.Labels["app"] != "x" || cm.Labels["webhook"] != "yes" {
				t.Errorf("labels %v, want saw-webhook=%s beside app and webhook", cm.Labels, tc.want)
			}
			if cm.Kind != "" {
				t.Errorf("the typed object gained kind %q", cm.Kind)
			}
		})
	}
}
