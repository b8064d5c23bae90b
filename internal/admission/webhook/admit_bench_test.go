package webhook_test

import (
	"context"
	"testing"

	regv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kemudi/kemudi/internal/admission/webhook"
	"github.com/kemudi/kemudi/internal/auth"
)

// BenchmarkAdmit measures one pod create's validating admission: with no
// webhook configured (what every write pays), with a configured webhook
// that does not select the write, and with one called on loopback.
func BenchmarkAdmit(b *testing.B) {
	ws := startWebhookServer(b, routes())
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", Labels: map[string]string{"app": "bench"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	req := &auth.AdmissionRequest{User: &auth.User{Name: "alice"}, Operation: auth.Create, Resource: "pods", Version: "v1",
		Kind: schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, Namespaced: true, Namespace: "default", Name: "p",
		Object: pod, Options: &metav1.CreateOptions{}}
	config := func(resource string) *regv1.ValidatingWebhookConfiguration {
		url := ws.URL + "/allow"
		return &regv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "bench"}, Webhooks: []regv1.ValidatingWebhook{{
			Name:         "allow.example.com",
			ClientConfig: regv1.WebhookClientConfig{URL: &url, CABundle: ws.caBundle()},
			Rules: []regv1.RuleWithOperations{{Operations: []regv1.OperationType{regv1.Create},
				Rule: regv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{resource}}}},
			SideEffects: ptr(regv1.SideEffectClassNone), AdmissionReviewVersions: []string{"v1"},
		}}}
	}
	cases := []struct {
		name   string
		config *regv1.ValidatingWebhookConfiguration
	}{
		{"none", nil},
		{"not-selected", config("services")},
		{"loopback", config("pods")},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			p := webhook.New(webhook.Config{})
			if tc.config != nil {
				p.SetValidating(tc.config)
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := p.Admit(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
