package cluster

import (
	"crypto/x509"
	"fmt"
	"time"
)

// maxRenewBefore caps how early a leaf certificate is renewed: upstream
// kubeadm and k3s renew their one-year certificates 90 days ahead.
const maxRenewBefore = 90 * 24 * time.Hour

// renewBefore is how long before expiry a certificate is reissued: a
// third of its lifetime or 90 days, whichever is smaller. The third keeps
// short-lived certificates (a test's hour, a CSR's day) from being
// reissued at every start; the cap keeps a year's certificate for nine
// months.
func renewBefore(cert *x509.Certificate) time.Duration {
	d := cert.NotAfter.Sub(cert.NotBefore) / 3
	return min(d, maxRenewBefore)
}

// needsRenewal says whether a leaf certificate must be reissued at now:
// when it is (nearly) expired, not yet valid, or its names no longer
// cover wantSANs (host names or IP addresses). reason says why, for the
// log. The CA is never judged here: it is not rotated.
func needsRenewal(cert *x509.Certificate, now time.Time, wantSANs []string) (bool, string) {
	if now.Before(cert.NotBefore) {
		return true, fmt.Sprintf("not valid before %s", cert.NotBefore.UTC().Format(time.RFC3339))
	}
	if left := cert.NotAfter.Sub(now); left <= 0 {
		return true, fmt.Sprintf("expired at %s", cert.NotAfter.UTC().Format(time.RFC3339))
	} else if left < renewBefore(cert) {
		return true, fmt.Sprintf("expires at %s, within %s", cert.NotAfter.UTC().Format(time.RFC3339), renewBefore(cert).Round(time.Second))
	}
	for _, h := range wantSANs {
		if cert.VerifyHostname(h) != nil {
			return true, fmt.Sprintf("does not cover %s", h)
		}
	}
	return false, ""
}
