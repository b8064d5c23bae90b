package webhook_test

import (
	"context"
	"testing"

	regv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// TestConfigurationExempt: a webhook on every resource that cannot be
// reached, failing closed, refuses ordinary writes but never the
// admission configuration objects, as upstream: the broken webhook's
// own configuration can be fixed and removed, and policies written.
func TestConfigurationExempt(t *testing.T) {
	srv := clustertest.Start(t)
	ctx := context.Background()
	ns := namespace(t, srv.Client, "exempt")
	h := hookFor("all.example.com", deadURL(t), nil, "exempt", regv1.Fail, 2)
	h.NamespaceSelector = nil
	h.Rules = []regv1.RuleWithOperations{{
		Operations: []regv1.OperationType{regv1.OperationAll},
		Rule:       regv1.Rule{APIGroups: []string{"*"}, APIVersions: []string{"*"}, Resources: []string{"*/*"}},
	}}
	admission := srv.Client.AdmissionregistrationV1()
	broken := &regv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "broken"}, Webhooks: []regv1.ValidatingWebhook{h}}
	if _, err := admission.ValidatingWebhookConfigurations().Create(ctx, broken, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the broken webhook to refuse a configmap", func() bool {
		_, err := srv.Client.CoreV1().ConfigMaps(ns).Create(ctx, configMap("cm", nil), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err != nil
	})

	other := &regv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "other"}}
	if _, err := admission.MutatingWebhookConfigurations().Create(ctx, other, metav1.CreateOptions{}); err != nil {
		t.Errorf("create a mutating webhook configuration: %v", err)
	}
	vap := &regv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec: regv1.ValidatingAdmissionPolicySpec{
			MatchConstraints: &regv1.MatchResources{ResourceRules: []regv1.NamedRuleWithOperations{{RuleWithOperations: regv1.RuleWithOperations{
				Operations: []regv1.OperationType{regv1.Create},
				Rule:       regv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
			}}}},
			Validations: []regv1.Validation{{Expression: "true"}},
		},
	}
	if _, err := admission.ValidatingAdmissionPolicies().Create(ctx, vap, metav1.CreateOptions{}); err != nil {
		t.Errorf("create a validating admission policy: %v", err)
	}
	got, err := admission.ValidatingWebhookConfigurations().Get(ctx, "broken", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got.Labels = map[string]string{"fixing": "yes"}
	if _, err := admission.ValidatingWebhookConfigurations().Update(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Errorf("update the broken webhook's configuration: %v", err)
	}
	if err := admission.ValidatingWebhookConfigurations().Delete(ctx, "broken", metav1.DeleteOptions{}); err != nil {
		t.Errorf("delete the broken webhook's configuration: %v", err)
	}
}
