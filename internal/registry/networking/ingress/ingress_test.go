package ingress

import (
	"context"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func errKeys(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Field+": "+e.Type.String())
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// web is what `kubectl create ingress web --class=nginx
// --rule="example.com/*=web:80,tls=web-tls"` sends.
func web() *networkingv1.Ingress {
	prefix := networkingv1.PathTypePrefix
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: networkingv1.IngressSpec{
			IngressClassName: ptr("nginx"),
			Rules: []networkingv1.IngressRule{{
				Host: "example.com",
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{
						Path:     "/",
						PathType: &prefix,
						Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
							Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80},
						}},
					}},
				}},
			}},
			TLS: []networkingv1.IngressTLS{{Hosts: []string{"example.com"}, SecretName: "web-tls"}},
		},
	}
}

func path0(ing *networkingv1.Ingress) *networkingv1.HTTPIngressPath {
	return &ing.Spec.Rules[0].HTTP.Paths[0]
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		modify func(*networkingv1.Ingress)
		want   []string
	}{
		{name: "valid", modify: func(*networkingv1.Ingress) {}},
		{name: "default backend only", modify: func(ing *networkingv1.Ingress) {
			ing.Spec.DefaultBackend = &path0(ing).Backend
			ing.Spec.Rules = nil
		}},
		{name: "wildcard host and named port", modify: func(ing *networkingv1.Ingress) {
			ing.Spec.Rules[0].Host = "*.example.com"
			path0(ing).Backend.Service.Port = networkingv1.ServiceBackendPort{Name: "http"}
		}},
		{name: "service name that is a DNS label but not DNS-1035", modify: func(ing *networkingv1.Ingress) { path0(ing).Backend.Service.Name = "1web" }},
		{name: "ImplementationSpecific without path", modify: func(ing *networkingv1.Ingress) {
			path0(ing).PathType = ptr(networkingv1.PathTypeImplementationSpecific)
			path0(ing).Path = ""
		}},
		{name: "resource backend", modify: func(ing *networkingv1.Ingress) {
			path0(ing).Backend = networkingv1.IngressBackend{Resource: &corev1TypedRef}
		}},
		{name: "nothing to route", modify: func(ing *networkingv1.Ingress) { ing.Spec.Rules = nil }, want: []string{"spec: Invalid value"}},
		{name: "no pathType", modify: func(ing *networkingv1.Ingress) { path0(ing).PathType = nil }, want: []string{"spec.rules[0].http.paths[0].pathType: Required value"}},
		{name: "bad pathType", modify: func(ing *networkingv1.Ingress) { path0(ing).PathType = ptr(networkingv1.PathType("Regex")) },
			want: []string{"spec.rules[0].http.paths[0].pathType: Unsupported value"}},
		{name: "relative Prefix path", modify: func(ing *networkingv1.Ingress) { path0(ing).Path = "api" },
			want: []string{"spec.rules[0].http.paths[0].path: Invalid value"}},
		{name: "unclean Exact path", modify: func(ing *networkingv1.Ingress) {
			path0(ing).PathType = ptr(networkingv1.PathTypeExact)
			path0(ing).Path = "/a//b/.."
		}, want: []string{"spec.rules[0].http.paths[0].path: Invalid value", "spec.rules[0].http.paths[0].path: Invalid value"}},
		{name: "no paths", modify: func(ing *networkingv1.Ingress) { ing.Spec.Rules[0].HTTP.Paths = nil },
			want: []string{"spec.rules[0].http.paths: Required value"}},
		{name: "IP host", modify: func(ing *networkingv1.Ingress) { ing.Spec.Rules[0].Host = "10.0.0.1" },
			want: []string{"spec.rules[0].host: Invalid value"}},
		{name: "bad host", modify: func(ing *networkingv1.Ingress) { ing.Spec.Rules[0].Host = "Example.com" },
			want: []string{"spec.rules[0].host: Invalid value"}},
		{name: "both backends", modify: func(ing *networkingv1.Ingress) { path0(ing).Backend.Resource = &corev1TypedRef },
			want: []string{"spec.rules[0].http.paths[0].backend: Invalid value"}},
		{name: "no backend", modify: func(ing *networkingv1.Ingress) { path0(ing).Backend = networkingv1.IngressBackend{} },
			want: []string{"spec.rules[0].http.paths[0].backend: Invalid value"}},
		{name: "no service name", modify: func(ing *networkingv1.Ingress) { path0(ing).Backend.Service.Name = "" },
			want: []string{"spec.rules[0].http.paths[0].backend.service.name: Required value"}},
		{name: "bad service name", modify: func(ing *networkingv1.Ingress) { path0(ing).Backend.Service.Name = "web.svc" },
			want: []string{"spec.rules[0].http.paths[0].backend.service.name: Invalid value"}},
		{name: "no port", modify: func(ing *networkingv1.Ingress) { path0(ing).Backend.Service.Port = networkingv1.ServiceBackendPort{} },
			want: []string{"spec.rules[0].http.paths[0].backend: Required value"}},
		{name: "both ports", modify: func(ing *networkingv1.Ingress) { path0(ing).Backend.Service.Port.Name = "http" },
			want: []string{"spec.rules[0].http.paths[0].backend: Invalid value"}},
		{name: "port out of range", modify: func(ing *networkingv1.Ingress) { path0(ing).Backend.Service.Port.Number = 70000 },
			want: []string{"spec.rules[0].http.paths[0].backend.service.port.number: Invalid value"}},
		{name: "bad TLS host and secret", modify: func(ing *networkingv1.Ingress) {
			ing.Spec.TLS[0].Hosts = []string{"*.*.example.com"}
			ing.Spec.TLS[0].SecretName = "Web_TLS"
		}, want: []string{"spec.tls[0].hosts[0]: Invalid value", "spec.tls[0].secretName: Invalid value"}},
		{name: "bad class name", modify: func(ing *networkingv1.Ingress) { ing.Spec.IngressClassName = ptr("Nginx") },
			want: []string{"spec.ingressClassName: Invalid value"}},
		{name: "annotation and class disagree", modify: func(ing *networkingv1.Ingress) {
			ing.Annotations = map[string]string{ClassAnnotation: "traefik"}
		}, want: []string{"annotations.kubernetes.io/ingress.class: Invalid value"}},
		{name: "bad resource ref", modify: func(ing *networkingv1.Ingress) {
			path0(ing).Backend = networkingv1.IngressBackend{Resource: &corev1TypedRefBad}
		}, want: []string{
			"spec.rules[0].http.paths[0].backend.resource.apiGroup: Invalid value",
			"spec.rules[0].http.paths[0].backend.resource.kind: Required value",
			"spec.rules[0].http.paths[0].backend.resource.name: Invalid value",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ing := web()
			tc.modify(ing)
			got := errKeys(Resource().Hooks.Validate(context.Background(), ing))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestValidateUpdateKeepsLegacyValues(t *testing.T) {
	old := web()
	old.Spec.TLS[0].SecretName = "Legacy_Secret"
	ing := old.DeepCopy()
	ing.Spec.Rules[0].Host = "www.example.com"
	if errs := Resource().Hooks.ValidateUpdate(context.Background(), ing, old); len(errs) != 0 {
		t.Errorf("stored secret name rejected: %v", errs)
	}
	// The annotation check is for creation only.
	ing.Annotations = map[string]string{ClassAnnotation: "traefik"}
	if errs := Resource().Hooks.ValidateUpdate(context.Background(), ing, old); len(errs) != 0 {
		t.Errorf("update: %v", errs)
	}
	fresh := web()
	fresh.Spec.TLS[0].SecretName = "Legacy_Secret"
	if got := errKeys(Resource().Hooks.ValidateUpdate(context.Background(), fresh, web())); !reflect.DeepEqual(got, []string{"spec.tls[0].secretName: Invalid value"}) {
		t.Errorf("new invalid secret name: %q", got)
	}
}

func TestWarnings(t *testing.T) {
	ing := web()
	ing.Spec.IngressClassName = nil
	ing.Annotations = map[string]string{ClassAnnotation: "nginx"}
	got := Resource().Hooks.Warnings(context.Background(), ing, nil)
	if want := []string{`annotation "kubernetes.io/ingress.class" is deprecated, please use 'spec.ingressClassName' instead`}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q", got)
	}
	if got := Resource().Hooks.Warnings(context.Background(), ing, ing); got != nil {
		t.Errorf("update warnings %q", got)
	}
}

func TestValidateStatusUpdate(t *testing.T) {
	old := web()
	ing := old.DeepCopy()
	ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{
		{IP: "192.0.2.10"}, {Hostname: "lb.example.com"}, {IP: "not-an-ip"}, {Hostname: "192.0.2.11"},
	}
	got := errKeys(Resource().StatusHooks.ValidateUpdate(context.Background(), ing, old))
	want := []string{"status.loadBalancer.ingress[2].ip: Invalid value", "status.loadBalancer.ingress[3].hostname: Invalid value"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestTable(t *testing.T) {
	tab := Resource().Table
	ing := web()
	ing.CreationTimestamp = metav1.NewTime(time.Now().Add(-90 * time.Second))
	ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{
		{IP: "192.0.2.20"}, {IP: "192.0.2.10"}, {Hostname: "lb.example.com"}, {IP: "192.0.2.10"},
	}
	row, _ := tab.Row(ing)
	want := []interface{}{"web", "nginx", "example.com", "192.0.2.10,192.0.2.20,lb.example.com", "80, 443", "90s"}
	if !reflect.DeepEqual(row, want) {
		t.Errorf("row %q, want %q", row, want)
	}

	bare := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "bare"}}
	bare.Spec.Rules = []networkingv1.IngressRule{{}, {Host: "a"}, {}, {Host: "b"}, {Host: "c"}, {Host: "d"}, {}}
	row, _ = tab.Row(bare)
	if want := []interface{}{"bare", "<none>", "a,b,c + 4 more...", "", "80", "<unknown>"}; !reflect.DeepEqual(row, want) {
		t.Errorf("row %q, want %q", row, want)
	}
	bare.Spec.Rules = []networkingv1.IngressRule{{}}
	if row, _ = tab.Row(bare); row[2] != "*" {
		t.Errorf("hosts %q", row[2])
	}
}

var (
	corev1TypedRef    = corev1.TypedLocalObjectReference{APIGroup: ptr("k8s.example.com"), Kind: "StorageBucket", Name: "static"}
	corev1TypedRefBad = corev1.TypedLocalObjectReference{APIGroup: ptr("Bad_Group"), Name: "a/b"}
)
