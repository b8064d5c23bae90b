package webhook_test

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"

	regv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kemudi/kemudi/internal/admission/webhook"
	"github.com/kemudi/kemudi/internal/auth"
	"github.com/kemudi/kemudi/internal/testca"
)

// loopbackResolver stands in for a service's EndpointSlices: it sends
// every service to one loopback address (the API server refuses loopback
// endpoints in EndpointSlices).
type loopbackResolver struct {
	addr string
	got  []string
}

func (r *loopbackResolver) Resolve(_ context.Context, namespace, name string, port int32) (string, error) {
	r.got = append(r.got, namespace+"/"+name)
	if name != "hooksvc" || port != 8443 {
		return "", &net.AddrError{Err: "no endpoints available for service " + name}
	}
	return r.addr, nil
}

// TestServiceWebhook: a webhook given as a service is dialled at the
// address the service resolves to, and its certificate is checked for
// <service>.<namespace>.svc against the caBundle.
func TestServiceWebhook(t *testing.T) {
	cases := []struct {
		name    string
		certFor string
		wantErr string
	}{
		{name: "service name", certFor: "hooksvc.webhooks.svc", wantErr: `admission webhook "svc.example.com" denied the request: label forbidden is not allowed`},
		{name: "wrong name", certFor: "other.webhooks.svc", wantErr: `Internal error occurred: failed calling webhook "svc.example.com": failed to call webhook: Post "https://hooksvc.webhooks.svc:8443/deny?timeout=10s": tls: failed to verify certificate: x509: certificate is valid for other.webhooks.svc, not hooksvc.webhooks.svc`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ca, cert := testca.Serving(t, tc.certFor)
			ws := startWebhookServerTLS(t, routes(), &tls.Config{Certificates: []tls.Certificate{cert}})
			res := &loopbackResolver{addr: ws.Listener.Addr().String()}
			p := webhook.New(webhook.Config{Services: res})
			path := "/deny"
			port := int32(8443)
			p.SetValidating(&regv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "svc"}, Webhooks: []regv1.ValidatingWebhook{{
				Name: "svc.example.com",
				ClientConfig: regv1.WebhookClientConfig{
					Service:  &regv1.ServiceReference{Namespace: "webhooks", Name: "hooksvc", Path: &path, Port: &port},
					CABundle: ca,
				},
				Rules: []regv1.RuleWithOperations{{
					Operations: []regv1.OperationType{regv1.OperationAll},
					Rule:       regv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
				}},
				SideEffects:             ptr(regv1.SideEffectClassNone),
				AdmissionReviewVersions: []string{"v1"},
			}}})
			cm := configMap("cm", map[string]string{"forbidden": "1"})
			cm.Namespace = "default"
			err := p.Admit(context.Background(), &auth.AdmissionRequest{
				User: &auth.User{Name: "alice"}, Operation: auth.Create, Resource: "configmaps", Version: "v1",
				Kind: schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, Namespaced: true,
				Namespace: "default", Name: "cm", Object: cm, Options: &metav1.CreateOptions{},
			})
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want %q", err, tc.wantErr)
			}
			if len(res.got) == 0 || res.got[0] != "webhooks/hooksvc" {
				t.Errorf("resolved %q", res.got)
			}
		})
	}
}
