package certificatesigningrequest

import (
	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// conditionsOf returns the conditions of type t.
func conditionsOf(csr *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) []certificatesv1.CertificateSigningRequestCondition {
	var out []certificatesv1.CertificateSigningRequestCondition
	for _, c := range csr.Status.Conditions {
		if c.Type == t {
			out = append(out, c)
		}
	}
	return out
}

// preserveConditions puts back the stored conditions of type t when the
// update has as many of them (a change in number is for validation to
// refuse), as upstream's status strategy does.
func preserveConditions(csr, old *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) {
	prev := conditionsOf(old, t)
	if len(prev) != len(conditionsOf(csr, t)) {
		return
	}
	i := 0
	for j := range csr.Status.Conditions {
		if csr.Status.Conditions[j].Type == t {
			csr.Status.Conditions[j] = prev[i]
			i++
		}
	}
}

// stampConditions fills lastUpdateTime and lastTransitionTime of
// conditions that have none: now, or the stored transition time when the
// condition's status did not change.
func stampConditions(csr, old *certificatesv1.CertificateSigningRequest) {
	now := metav1.Now()
	for i := range csr.Status.Conditions {
		c := &csr.Status.Conditions[i]
		if c.LastUpdateTime.IsZero() {
			c.LastUpdateTime = now
		}
		if !c.LastTransitionTime.IsZero() {
			continue
		}
		c.LastTransitionTime = now
		if old == nil {
			continue
		}
		for _, p := range conditionsOf(old, c.Type) {
			if p.Status == c.Status && !p.LastTransitionTime.IsZero() {
				c.LastTransitionTime = p.LastTransitionTime
				break
			}
		}
	}
}

// IsApproved, IsDenied and HasFailed read a CSR's approval state.
func IsApproved(csr *certificatesv1.CertificateSigningRequest) bool {
	return len(conditionsOf(csr, certificatesv1.CertificateApproved)) > 0
}

// IsDenied reports a Denied condition.
func IsDenied(csr *certificatesv1.CertificateSigningRequest) bool {
	return len(conditionsOf(csr, certificatesv1.CertificateDenied)) > 0
}

// HasFailed reports a Failed condition.
func HasFailed(csr *certificatesv1.CertificateSigningRequest) bool {
	return len(conditionsOf(csr, certificatesv1.CertificateFailed)) > 0
}
