package ingressclass

import (
	"context"
	"reflect"
	"strings"
	"testing"

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

func nginx() *networkingv1.IngressClass {
	return &networkingv1.IngressClass{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx"},
		Spec: networkingv1.IngressClassSpec{
			Controller: "k8s.io/ingress-nginx",
			Parameters: &networkingv1.IngressClassParametersReference{
				APIGroup: ptr("k8s.example.com"), Kind: "IngressParameters", Name: "external-lb",
			},
		},
	}
}

func TestDefault(t *testing.T) {
	ic := nginx()
	Resource().Hooks.Default(ic)
	if ic.Spec.Parameters.Scope == nil || *ic.Spec.Parameters.Scope != "Cluster" {
		t.Errorf("scope %v", ic.Spec.Parameters.Scope)
	}
	ic.Spec.Parameters = nil
	Resource().Hooks.Default(ic)
	if ic.Spec.Parameters != nil {
		t.Error("parameters invented")
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		modify func(*networkingv1.IngressClass)
		want   []string
	}{
		{name: "valid", modify: func(*networkingv1.IngressClass) {}},
		{name: "no parameters", modify: func(ic *networkingv1.IngressClass) { ic.Spec.Parameters = nil }},
		{name: "namespaced parameters", modify: func(ic *networkingv1.IngressClass) {
			ic.Spec.Parameters.Scope = ptr("Namespace")
			ic.Spec.Parameters.Namespace = ptr("ingress")
		}},
		{name: "controller without domain", modify: func(ic *networkingv1.IngressClass) { ic.Spec.Controller = "nginx" },
			want: []string{"spec.controller: Invalid value"}},
		{name: "controller too long", modify: func(ic *networkingv1.IngressClass) { ic.Spec.Controller = "example.com/" + strings.Repeat("a", 250) },
			want: []string{"spec.controller: Too long"}},
		{name: "namespace scope without namespace", modify: func(ic *networkingv1.IngressClass) { ic.Spec.Parameters.Scope = ptr("Namespace") },
			want: []string{"spec.parameters.namespace: Required value"}},
		{name: "cluster scope with namespace", modify: func(ic *networkingv1.IngressClass) { ic.Spec.Parameters.Namespace = ptr("ingress") },
			want: []string{"spec.parameters.namespace: Forbidden"}},
		{name: "bad scope", modify: func(ic *networkingv1.IngressClass) { ic.Spec.Parameters.Scope = ptr("Global") },
			want: []string{"spec.parameters.scope: Unsupported value"}},
		{name: "missing kind and name", modify: func(ic *networkingv1.IngressClass) {
			ic.Spec.Parameters.Kind, ic.Spec.Parameters.Name = "", ""
		}, want: []string{"spec.parameters.kind: Required value", "spec.parameters.name: Required value"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ic := nginx()
			Resource().Hooks.Default(ic)
			tc.modify(ic)
			got := errKeys(Resource().Hooks.Validate(context.Background(), ic))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	old := nginx()
	Resource().Hooks.Default(old)
	ic := old.DeepCopy()
	ic.Spec.Parameters.Name = "internal-lb"
	if errs := Resource().Hooks.ValidateUpdate(context.Background(), ic, old); len(errs) != 0 {
		t.Errorf("parameters change rejected: %v", errs)
	}
	ic.Spec.Controller = "example.com/other"
	got := errKeys(Resource().Hooks.ValidateUpdate(context.Background(), ic, old))
	if want := []string{"spec.controller: Invalid value"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestTable(t *testing.T) {
	ic := nginx()
	ic.Annotations = map[string]string{networkingv1.AnnotationIsDefaultIngressClass: "true"}
	row, _ := Resource().Table.Row(ic)
	if want := []interface{}{"nginx (default)", "k8s.io/ingress-nginx", "IngressParameters.k8s.example.com/external-lb", "<unknown>"}; !reflect.DeepEqual(row, want) {
		t.Errorf("row %q, want %q", row, want)
	}
	ic = nginx()
	ic.Spec.Parameters.APIGroup = nil
	row, _ = Resource().Table.Row(ic)
	if row[0] != "nginx" || row[2] != "IngressParameters/external-lb" {
		t.Errorf("row %q", row)
	}
	ic.Spec.Parameters = nil
	if row, _ = Resource().Table.Row(ic); row[2] != "<none>" {
		t.Errorf("row %q", row)
	}
}
