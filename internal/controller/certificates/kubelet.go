package certificates

import (
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
)

// nodeUserPrefix and nodesGroup make a kubelet's identity.
const (
	nodeUserPrefix = "system:node:"
	nodesGroup     = "system:nodes"
)

// usagesWithin reports whether every usage is allowed and the required
// ones are there.
func usagesWithin(usages []certificatesv1.KeyUsage, allowed, required []certificatesv1.KeyUsage) error {
	for _, u := range usages {
		if !slices.Contains(allowed, u) {
			return fmt.Errorf("usages did not match %v", allowed)
		}
	}
	for _, u := range required {
		if !slices.Contains(usages, u) {
			return fmt.Errorf("usages did not match %v", allowed)
		}
	}
	return nil
}

// validateKubeletClient checks a kube-apiserver-client-kubelet request
// as upstream: subject O=system:nodes, CN=system:node:<name>, no subject
// alternative names, usages client auth and digital signature (key
// encipherment allowed).
func validateKubeletClient(req *x509.CertificateRequest, usages []certificatesv1.KeyUsage) error {
	if !slices.Equal(req.Subject.Organization, []string{nodesGroup}) {
		return fmt.Errorf("subject organization is not %s", nodesGroup)
	}
	if len(req.DNSNames) > 0 || len(req.EmailAddresses) > 0 || len(req.IPAddresses) > 0 || len(req.URIs) > 0 {
		return errors.New("DNS, email, IP and URI subjectAltNames are not allowed")
	}
	if !strings.HasPrefix(req.Subject.CommonName, nodeUserPrefix) || len(req.Subject.CommonName) == len(nodeUserPrefix) {
		return fmt.Errorf("subject common name does not begin with %s", nodeUserPrefix)
	}
	return usagesWithin(usages,
		[]certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageClientAuth},
		[]certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth})
}

// validateKubeletServing checks a kubelet-serving request as upstream:
// the node's identity as subject, DNS or IP names only, server auth.
func validateKubeletServing(req *x509.CertificateRequest, usages []certificatesv1.KeyUsage) error {
	if !slices.Equal(req.Subject.Organization, []string{nodesGroup}) {
		return fmt.Errorf("subject organization is not %s", nodesGroup)
	}
	if len(req.DNSNames) == 0 && len(req.IPAddresses) == 0 {
		return errors.New("DNS or IP subjectAltName is required")
	}
	if len(req.EmailAddresses) > 0 || len(req.URIs) > 0 {
		return errors.New("email and URI subjectAltNames are not allowed")
	}
	if !strings.HasPrefix(req.Subject.CommonName, nodeUserPrefix) || len(req.Subject.CommonName) == len(nodeUserPrefix) {
		return fmt.Errorf("subject common name does not begin with %s", nodeUserPrefix)
	}
	return usagesWithin(usages,
		[]certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageServerAuth},
		[]certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth})
}

// finished reports whether a CSR has been decided and needs no approver.
func decided(csr *certificatesv1.CertificateSigningRequest) bool {
	for _, c := range csr.Status.Conditions {
		if c.Type == certificatesv1.CertificateApproved || c.Type == certificatesv1.CertificateDenied {
			return true
		}
	}
	return false
}

func hasCondition(csr *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) bool {
	for _, c := range csr.Status.Conditions {
		if c.Type == t {
			return true
		}
	}
	return false
}
