package certificates

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
)

// servingMessage is the Approved condition's message for a kubelet's own
// serving certificate.
const servingMessage = "Auto approving kubelet serving certificate: the node's own name and addresses."

// errNodeNotRegistered makes the approver retry: a kubelet asks for its
// serving certificate as it registers its Node.
var errNodeNotRegistered = errors.New("node not registered yet")

// servingApproval decides whether a kubelet-serving CSR may be approved
// without a person. Upstream leaves every such CSR to an admin (and its API
// server does not check kubelets' certificates); kemudi's API server checks
// them, so like k3s it approves a node's request for itself: the requester
// is the node named in the subject, and every name in the certificate is
// that node's name or one of the addresses on its Node. A node can only
// ever get a certificate for where it already says it is.
func servingApproval(csr *certificatesv1.CertificateSigningRequest, req *x509.CertificateRequest, node *corev1.Node) error {
	if err := validateKubeletServing(req, csr.Spec.Usages); err != nil {
		return err
	}
	name, ok := strings.CutPrefix(req.Subject.CommonName, nodeUserPrefix)
	if !ok || csr.Spec.Username != req.Subject.CommonName {
		return fmt.Errorf("requested by %q, not by the node %q itself", csr.Spec.Username, req.Subject.CommonName)
	}
	if !slices.Contains(csr.Spec.Groups, nodesGroup) {
		return fmt.Errorf("requester is not in %s", nodesGroup)
	}
	if node == nil || node.Name != name {
		return errNodeNotRegistered
	}
	dns := []string{node.Name}
	var ips []net.IP
	for _, a := range node.Status.Addresses {
		switch a.Type {
		case corev1.NodeHostName, corev1.NodeInternalDNS, corev1.NodeExternalDNS:
			dns = append(dns, a.Address)
		case corev1.NodeInternalIP, corev1.NodeExternalIP:
			if ip := net.ParseIP(a.Address); ip != nil {
				ips = append(ips, ip)
			}
		}
	}
	for _, d := range req.DNSNames {
		if !slices.Contains(dns, d) {
			return fmt.Errorf("DNS name %q is not an address of node %s", d, name)
		}
	}
	for _, ip := range req.IPAddresses {
		if !slices.ContainsFunc(ips, ip.Equal) {
			return fmt.Errorf("IP address %s is not an address of node %s", ip, name)
		}
	}
	return nil
}
