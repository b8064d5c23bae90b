package networkpolicy

import (
	"context"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
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

// apiAllow lets the frontend reach the API on 8080, and the API reach a
// database network except one address.
func apiAllow() *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "api-allow", Namespace: "default"},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "frontend"}}}},
				Ports: []networkingv1.NetworkPolicyPort{{Port: ptr(intstr.FromInt32(8080))}},
			}},
			Egress: []networkingv1.NetworkPolicyEgressRule{{
				To:    []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/16", Except: []string{"10.0.5.0/24"}}}},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr(corev1.ProtocolUDP), Port: ptr(intstr.FromInt32(5000)), EndPort: ptr(int32(5100))}},
			}},
		},
	}
}

func TestDefault(t *testing.T) {
	np := apiAllow()
	Resource().Hooks.Default(np)
	if *np.Spec.Ingress[0].Ports[0].Protocol != corev1.ProtocolTCP || *np.Spec.Egress[0].Ports[0].Protocol != corev1.ProtocolUDP {
		t.Errorf("protocols: %v %v", *np.Spec.Ingress[0].Ports[0].Protocol, *np.Spec.Egress[0].Ports[0].Protocol)
	}
	if want := []networkingv1.PolicyType{"Ingress", "Egress"}; !reflect.DeepEqual(np.Spec.PolicyTypes, want) {
		t.Errorf("policyTypes %v", np.Spec.PolicyTypes)
	}

	// Deny all ingress: an empty policy selects every pod for ingress.
	deny := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "deny"}}
	Resource().Hooks.Default(deny)
	if want := []networkingv1.PolicyType{"Ingress"}; !reflect.DeepEqual(deny.Spec.PolicyTypes, want) {
		t.Errorf("policyTypes %v", deny.Spec.PolicyTypes)
	}

	egressOnly := &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{"Egress"}}}
	Resource().Hooks.Default(egressOnly)
	if want := []networkingv1.PolicyType{"Egress"}; !reflect.DeepEqual(egressOnly.Spec.PolicyTypes, want) {
		t.Errorf("set policyTypes changed: %v", egressOnly.Spec.PolicyTypes)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		modify func(*networkingv1.NetworkPolicy)
		want   []string
	}{
		{name: "valid", modify: func(*networkingv1.NetworkPolicy) {}},
		{name: "named port", modify: func(np *networkingv1.NetworkPolicy) {
			np.Spec.Ingress[0].Ports[0].Port = ptr(intstr.FromString("http"))
		}},
		{name: "pods in namespaces", modify: func(np *networkingv1.NetworkPolicy) {
			np.Spec.Ingress[0].From[0].NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": "web"}}
		}},
		{name: "IPv6 block", modify: func(np *networkingv1.NetworkPolicy) {
			np.Spec.Egress[0].To[0].IPBlock = &networkingv1.IPBlock{CIDR: "fd00::/64", Except: []string{"fd00::/96"}}
		}},
		{name: "bad pod selector", modify: func(np *networkingv1.NetworkPolicy) { np.Spec.PodSelector.MatchLabels["app"] = "a b" },
			want: []string{"spec.podSelector.matchLabels: Invalid value"}},
		{name: "bad protocol", modify: func(np *networkingv1.NetworkPolicy) {
			np.Spec.Ingress[0].Ports[0].Protocol = ptr(corev1.Protocol("ICMP"))
		},
			want: []string{"spec.ingress[0].ports[0].protocol: Unsupported value"}},
		{name: "port 0", modify: func(np *networkingv1.NetworkPolicy) { np.Spec.Ingress[0].Ports[0].Port = ptr(intstr.FromInt32(0)) },
			want: []string{"spec.ingress[0].ports[0].port: Invalid value"}},
		{name: "bad port name", modify: func(np *networkingv1.NetworkPolicy) {
			np.Spec.Ingress[0].Ports[0].Port = ptr(intstr.FromString("HTTP_port"))
		},
			want: []string{"spec.ingress[0].ports[0].port: Invalid value"}},
		{name: "endPort below port", modify: func(np *networkingv1.NetworkPolicy) { np.Spec.Egress[0].Ports[0].EndPort = ptr(int32(4000)) },
			want: []string{"spec.egress[0].ports[0].endPort: Invalid value"}},
		{name: "endPort with named port", modify: func(np *networkingv1.NetworkPolicy) { np.Spec.Egress[0].Ports[0].Port = ptr(intstr.FromString("db")) },
			want: []string{"spec.egress[0].ports[0].endPort: Invalid value"}},
		{name: "endPort without port", modify: func(np *networkingv1.NetworkPolicy) { np.Spec.Egress[0].Ports[0].Port = nil },
			want: []string{"spec.egress[0].ports[0].endPort: Invalid value"}},
		{name: "empty peer", modify: func(np *networkingv1.NetworkPolicy) { np.Spec.Ingress[0].From[0] = networkingv1.NetworkPolicyPeer{} },
			want: []string{"spec.ingress[0].from[0]: Required value"}},
		{name: "ipBlock with selector", modify: func(np *networkingv1.NetworkPolicy) {
			np.Spec.Egress[0].To[0].PodSelector = &metav1.LabelSelector{}
		}, want: []string{"spec.egress[0].to[0]: Forbidden"}},
		{name: "no cidr", modify: func(np *networkingv1.NetworkPolicy) { np.Spec.Egress[0].To[0].IPBlock.CIDR = "" },
			want: []string{"spec.egress[0].to[0].ipBlock.cidr: Required value"}},
		{name: "bad cidr", modify: func(np *networkingv1.NetworkPolicy) { np.Spec.Egress[0].To[0].IPBlock.CIDR = "10.0.0.0/33" },
			want: []string{"spec.egress[0].to[0].ipBlock.cidr: Invalid value"}},
		{name: "cidr with host bits", modify: func(np *networkingv1.NetworkPolicy) { np.Spec.Egress[0].To[0].IPBlock.CIDR = "10.0.1.0/16" },
			want: []string{"spec.egress[0].to[0].ipBlock.cidr: Invalid value"}},
		{name: "except outside cidr", modify: func(np *networkingv1.NetworkPolicy) { np.Spec.Egress[0].To[0].IPBlock.Except = []string{"10.1.0.0/24"} },
			want: []string{"spec.egress[0].to[0].ipBlock.except[0]: Invalid value"}},
		{name: "except equal to cidr", modify: func(np *networkingv1.NetworkPolicy) { np.Spec.Egress[0].To[0].IPBlock.Except = []string{"10.0.0.0/16"} },
			want: []string{"spec.egress[0].to[0].ipBlock.except[0]: Invalid value"}},
		{name: "bad policy type", modify: func(np *networkingv1.NetworkPolicy) { np.Spec.PolicyTypes = []networkingv1.PolicyType{"ingress"} },
			want: []string{"spec.policyTypes[0]: Unsupported value"}},
		{name: "three policy types", modify: func(np *networkingv1.NetworkPolicy) {
			np.Spec.PolicyTypes = []networkingv1.PolicyType{"Ingress", "Egress", "Ingress"}
		}, want: []string{"spec.policyTypes: Invalid value"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			np := apiAllow()
			Resource().Hooks.Default(np)
			tc.modify(np)
			got := errKeys(Resource().Hooks.Validate(context.Background(), np))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestValidateUpdateKeepsStoredCIDRs(t *testing.T) {
	old := apiAllow()
	old.Spec.Egress[0].To[0].IPBlock.CIDR = "010.0.0.0/16"
	Resource().Hooks.Default(old)
	if errs := Resource().Hooks.Validate(context.Background(), old); len(errs) == 0 {
		t.Fatal("leading zeros accepted on create")
	}
	np := old.DeepCopy()
	np.Spec.Ingress[0].Ports[0].Port = ptr(intstr.FromInt32(9090))
	if errs := Resource().Hooks.ValidateUpdate(context.Background(), np, old); len(errs) != 0 {
		t.Errorf("stored CIDR rejected on update: %v", errs)
	}
}

func TestWarnings(t *testing.T) {
	np := apiAllow()
	np.Spec.Egress[0].To[0].IPBlock.CIDR = "10.0.1.0/16"
	got := Resource().Hooks.Warnings(context.Background(), np, nil)
	if len(got) != 1 || got[0][:len("spec.egress[0].to[0].ipBlock.cidr")] != "spec.egress[0].to[0].ipBlock.cidr" {
		t.Errorf("warnings %q", got)
	}
	if got := Resource().Hooks.Warnings(context.Background(), apiAllow(), nil); len(got) != 0 {
		t.Errorf("warnings for a clean policy: %q", got)
	}
}

func TestTable(t *testing.T) {
	row, _ := Resource().Table.Row(apiAllow())
	if want := []interface{}{"api-allow", "app=api", "<unknown>"}; !reflect.DeepEqual(row, want) {
		t.Errorf("row %q, want %q", row, want)
	}
	row, _ = Resource().Table.Row(&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "deny-all"}})
	if want := []interface{}{"deny-all", "<none>", "<unknown>"}; !reflect.DeepEqual(row, want) {
		t.Errorf("row %q, want %q", row, want)
	}
}
