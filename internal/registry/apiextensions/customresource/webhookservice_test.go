package customresource

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kemudi/kemudi/internal/testca"
)

// oneService resolves the service webhooks/convsvc port 443 to addr (the
// API server refuses loopback addresses in EndpointSlices).
type oneService struct{ addr string }

func (r oneService) Resolve(_ context.Context, namespace, name string, port int32) (string, error) {
	if namespace != "webhooks" || name != "convsvc" || port != 443 {
		return "", fmt.Errorf("no endpoints available for service %q", name)
	}
	return r.addr, nil
}

// TestServiceConversionWebhook: a webhook given as a service (port
// defaulting to 443) is dialled at the service's endpoint and its
// certificate checked for <service>.<namespace>.svc against caBundle.
func TestServiceConversionWebhook(t *testing.T) {
	const gvk = "conversion webhook for stable.example.com/v1, Kind=E2eTestCrd failed: "
	cases := []struct {
		name, certFor, service string
		wantErr                string
	}{
		{name: "service", certFor: "convsvc.webhooks.svc", service: "convsvc"},
		{name: "certificate for another name", certFor: "other.webhooks.svc", service: "convsvc",
			wantErr: gvk + `Post "https://convsvc.webhooks.svc:443/convert?timeout=30s": tls: failed to verify certificate: x509: certificate is valid for other.webhooks.svc, not convsvc.webhooks.svc`},
		{name: "no endpoints", certFor: "nohost.webhooks.svc", service: "nohost",
			wantErr: gvk + `Post "https://nohost.webhooks.svc:443/convert?timeout=30s": no endpoints available for service "nohost"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ca, cert := testca.Serving(t, tc.certFor)
			ts := httptest.NewUnstartedServer(hostPortWebhook(t, nil))
			ts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
			ts.StartTLS()
			t.Cleanup(ts.Close)
			crd := hostPortCRD("", ca)
			path := "/convert"
			crd.Spec.Conversion.Webhook.ClientConfig = &apiextensionsv1.WebhookClientConfig{CABundle: ca,
				Service: &apiextensionsv1.ServiceReference{Namespace: "webhooks", Name: tc.service, Path: &path}}
			r, err := ResourceWith(crd, "v2", NewWebhooks(oneService{addr: ts.Listener.Addr().String()}))
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.Convert.FromStorage(context.Background(), &unstructured.Unstructured{Object: map[string]interface{}{
				"apiVersion": "stable.example.com/v1", "kind": "E2eTestCrd",
				"metadata": map[string]interface{}{"name": "cr"}, "spec": map[string]interface{}{"hostPort": "db:5432"},
			}})
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if host, _, _ := unstructured.NestedString(got.(*unstructured.Unstructured).Object, "spec", "host"); host != "db" {
				t.Errorf("converted %v", got)
			}
		})
	}
}
