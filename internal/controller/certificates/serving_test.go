package certificates

import (
	"errors"
	"net"
	"strings"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestServingApproval: a node gets a serving certificate for its own name
// and addresses without an admin; anything more is left for one.
func TestServingApproval(t *testing.T) {
	n1 := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: "10.99.0.2"},
		{Type: corev1.NodeHostName, Address: "n1.lan"},
	}}}
	ip := func(s ...string) []net.IP {
		var out []net.IP
		for _, a := range s {
			out = append(out, net.ParseIP(a))
		}
		return out
	}
	nodeGroups := []string{"system:nodes", "system:authenticated"}
	tests := []struct {
		name      string
		requester string
		groups    []string
		usages    []certificatesv1.KeyUsage
		dns       []string
		ips       []net.IP
		node      *corev1.Node
		want      string // "" approved; errNodeNotRegistered's text; else part of the reason
	}{
		{"own name and address", "system:node:n1", nodeGroups, serveUse, []string{"n1"}, ip("10.99.0.2"), n1, ""},
		{"hostname address", "system:node:n1", nodeGroups, serveUse, []string{"n1.lan"}, nil, n1, ""},
		{"another node asks", "system:node:n2", nodeGroups, serveUse, []string{"n1"}, ip("10.99.0.2"), n1, "not by the node"},
		{"bootstrap token asks", "system:bootstrap:abcdef", []string{"system:bootstrappers"}, serveUse, []string{"n1"}, nil, n1, "not by the node"},
		{"not in system:nodes", "system:node:n1", []string{"system:authenticated"}, serveUse, []string{"n1"}, nil, n1, "system:nodes"},
		{"foreign IP", "system:node:n1", nodeGroups, serveUse, []string{"n1"}, ip("10.99.0.9"), n1, "IP address 10.99.0.9"},
		{"foreign DNS name", "system:node:n1", nodeGroups, serveUse, []string{"kubernetes.default"}, nil, n1, `DNS name "kubernetes.default"`},
		{"client usages", "system:node:n1", nodeGroups, clientUse, []string{"n1"}, nil, n1, "usages"},
		{"node not registered", "system:node:n1", nodeGroups, serveUse, []string{"n1"}, nil, nil, errNodeNotRegistered.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			csr := &certificatesv1.CertificateSigningRequest{Spec: certificatesv1.CertificateSigningRequestSpec{
				SignerName: certificatesv1.KubeletServingSignerName, Username: tt.requester, Groups: tt.groups, Usages: tt.usages,
			}}
			err := servingApproval(csr, csrFor(t, node, tt.dns, tt.ips), tt.node)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("not approved: %v", err)
			case tt.want == "":
			case err == nil:
				t.Errorf("approved, want refusal %q", tt.want)
			case tt.want == errNodeNotRegistered.Error() && !errors.Is(err, errNodeNotRegistered):
				t.Errorf("got %v, want a retry until the node registers", err)
			case !strings.Contains(err.Error(), tt.want):
				t.Errorf("got %v, want it to say %q", err, tt.want)
			}
		})
	}
}
