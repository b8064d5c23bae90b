package endpoints

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func errKeys(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, string(e.Type)+" "+e.Field)
	}
	return out
}

func addrs(ips ...string) []corev1.EndpointAddress {
	var out []corev1.EndpointAddress
	for _, ip := range ips {
		out = append(out, corev1.EndpointAddress{IP: ip})
	}
	return out
}

func TestDefault(t *testing.T) {
	ep := &corev1.Endpoints{Subsets: []corev1.EndpointSubset{{Addresses: addrs("10.42.0.5"), Ports: []corev1.EndpointPort{{Port: 80}, {Port: 53, Protocol: corev1.ProtocolUDP}}}}}
	Default(ep)
	if p := ep.Subsets[0].Ports; p[0].Protocol != corev1.ProtocolTCP || p[1].Protocol != corev1.ProtocolUDP {
		t.Errorf("ports = %+v", p)
	}
}

func TestValidate(t *testing.T) {
	node := "node-1"
	badNode := "Node_1"
	for _, tc := range []struct {
		name   string
		subset corev1.EndpointSubset
		want   []string
	}{
		{"valid", corev1.EndpointSubset{Addresses: []corev1.EndpointAddress{{IP: "10.42.0.5", Hostname: "web-0", NodeName: &node}}, NotReadyAddresses: addrs("fd00::5"), Ports: []corev1.EndpointPort{{Name: "http", Port: 80, Protocol: "TCP"}, {Name: "dns", Port: 53, Protocol: "UDP"}}}, nil},
		{"headless without ports", corev1.EndpointSubset{Addresses: addrs("10.42.0.5")}, nil},
		{"no addresses", corev1.EndpointSubset{Ports: []corev1.EndpointPort{{Port: 80, Protocol: "TCP"}}}, []string{"FieldValueRequired subsets[0]"}},
		{"not an ip", corev1.EndpointSubset{Addresses: addrs("web")}, []string{"FieldValueInvalid subsets[0].addresses[0].ip", "FieldValueInvalid subsets[0].addresses[0].ip"}},
		{"leading zeros", corev1.EndpointSubset{Addresses: addrs("010.042.000.005")}, []string{"FieldValueInvalid subsets[0].addresses[0].ip"}},
		{"loopback", corev1.EndpointSubset{Addresses: addrs("127.0.0.1")}, []string{"FieldValueInvalid subsets[0].addresses[0].ip"}},
		{"link-local", corev1.EndpointSubset{NotReadyAddresses: addrs("169.254.1.1")}, []string{"FieldValueInvalid subsets[0].notReadyAddresses[0].ip"}},
		{"link-local multicast", corev1.EndpointSubset{Addresses: addrs("224.0.0.1")}, []string{"FieldValueInvalid subsets[0].addresses[0].ip"}},
		{"unspecified", corev1.EndpointSubset{Addresses: addrs("0.0.0.0")}, []string{"FieldValueInvalid subsets[0].addresses[0].ip"}},
		{"bad hostname and node", corev1.EndpointSubset{Addresses: []corev1.EndpointAddress{{IP: "10.0.0.1", Hostname: "Web.0", NodeName: &badNode}}}, []string{"FieldValueInvalid subsets[0].addresses[0].hostname", "FieldValueInvalid subsets[0].addresses[0].nodeName"}},
		{"unnamed port among two", corev1.EndpointSubset{Addresses: addrs("10.0.0.1"), Ports: []corev1.EndpointPort{{Name: "a", Port: 1, Protocol: "TCP"}, {Port: 2, Protocol: "TCP"}}}, []string{"FieldValueRequired subsets[0].ports[1].name"}},
		{"bad port", corev1.EndpointSubset{Addresses: addrs("10.0.0.1"), Ports: []corev1.EndpointPort{{Port: 70000, Protocol: "ICMP"}}}, []string{"FieldValueInvalid subsets[0].ports[0].port", "FieldValueNotSupported subsets[0].ports[0].protocol"}},
		{"no protocol", corev1.EndpointSubset{Addresses: addrs("10.0.0.1"), Ports: []corev1.EndpointPort{{Port: 80}}}, []string{"FieldValueRequired subsets[0].ports[0].protocol"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Subsets: []corev1.EndpointSubset{tc.subset}}
			if got := errKeys(Validate(ep, nil)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("errors = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestValidateUpdateToleratesUnchangedSubsets(t *testing.T) {
	old := &corev1.Endpoints{Subsets: []corev1.EndpointSubset{{Addresses: addrs("127.0.0.1")}}}
	ep := old.DeepCopy()
	ep.Labels = map[string]string{"a": "b"}
	if errs := Validate(ep, old); len(errs) != 0 {
		t.Errorf("unchanged subsets rejected: %v", errs)
	}
	ep.Subsets[0].Addresses = append(ep.Subsets[0].Addresses, corev1.EndpointAddress{IP: "10.0.0.1"})
	if errs := Validate(ep, old); len(errs) != 1 {
		t.Errorf("changed subsets: errors = %v, want the loopback one", errs)
	}
}

func TestParseIPSloppy(t *testing.T) {
	for in, want := range map[string]string{
		"10.42.0.5":         "10.42.0.5",
		"010.042.000.005":   "10.42.0.5",
		"::ffff:010.1.2.03": "10.1.2.3",
		"fd00::1":           "fd00::1",
		"1.2.3.256":         "",
		"1.2.3":             "",
		"web":               "",
	} {
		got := ParseIPSloppy(in)
		if (got == nil) != (want == "") || (got != nil && got.String() != want) {
			t.Errorf("ParseIPSloppy(%q) = %v, want %q", in, got, want)
		}
	}
}

func TestWarnings(t *testing.T) {
	ep := &corev1.Endpoints{Subsets: []corev1.EndpointSubset{{Addresses: addrs("fd00:0::1", "10.0.0.1")}}}
	if w := Warnings(ep); len(w) != 1 {
		t.Errorf("warnings = %v, want one for the non-canonical IPv6", w)
	}
	ep.Labels = map[string]string{managedByLabel: controllerName}
	if w := Warnings(ep); w != nil {
		t.Errorf("warnings for controller-managed endpoints = %v", w)
	}
}

func TestTable(t *testing.T) {
	created := metav1.NewTime(time.Now().Add(-5 * time.Hour))
	for _, tc := range []struct {
		name    string
		subsets []corev1.EndpointSubset
		want    string
	}{
		{"none", nil, "<none>"},
		{"two", []corev1.EndpointSubset{{Addresses: addrs("10.42.0.5", "10.42.0.6"), Ports: []corev1.EndpointPort{{Port: 80}}}}, "10.42.0.5:80,10.42.0.6:80"},
		{"more", []corev1.EndpointSubset{
			{Addresses: addrs("10.42.0.5", "10.42.0.6"), Ports: []corev1.EndpointPort{{Port: 80}, {Port: 443}}},
			{Addresses: addrs("10.42.1.7"), Ports: []corev1.EndpointPort{{Port: 80}}},
		}, "10.42.0.5:80,10.42.0.6:80,10.42.0.5:443 + 2 more..."},
		{"headless", []corev1.EndpointSubset{{Addresses: addrs("10.42.0.5", "fd00::5")}}, "10.42.0.5,fd00::5"},
		{"ipv6 with port", []corev1.EndpointSubset{{Addresses: addrs("fd00::5"), Ports: []corev1.EndpointPort{{Port: 80}}}}, "[fd00::5]:80"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "web", CreationTimestamp: created}, Subsets: tc.subsets}
			row, err := Resource().Table.Row(ep)
			if err != nil {
				t.Fatal(err)
			}
			if want := []interface{}{"web", tc.want, "5h"}; !reflect.DeepEqual(row, want) {
				t.Errorf("row = %v, want %v", row, want)
			}
		})
	}
}
