// Package certrotation holds when a certificate that a CSR issued is
// renewed, as upstream's kubelet times it: the node's client certificate
// (cluster.NodeClientCert) and the kubelet's serving certificate
// (kubelet/server.CSRCertificates) both follow it.
package certrotation

import "time"

// Deadline is when a certificate valid from notBefore to notAfter
// is renewed: after 70% of its lifetime plus up to a fifth of that, by r
// in [0,1), so that nodes joined together do not all renew at once. The
// signer backdates notBefore by 5 minutes, which for a short-lived
// certificate can put that point before it was obtained; then the
// lifetime counts from obtained (zero: not known).
func Deadline(notBefore, notAfter, obtained time.Time, r float64) time.Time {
	at := func(from time.Time) time.Time {
		base := time.Duration(float64(notAfter.Sub(from)) * 0.7)
		return from.Add(base + time.Duration(float64(base)*0.2*r))
	}
	d := at(notBefore)
	if d.Before(obtained) {
		d = at(obtained)
	}
	return d
}

// NextRetry doubles the wait after a failed renewal, from 2 s, at most a
// minute and at most a tenth of what is left of the certificate (so a
// short-lived one is retried often enough to be renewed in time).
func NextRetry(last, left time.Duration) time.Duration {
	next := min(max(2*last, 2*time.Second), time.Minute)
	if left > 0 && next > left/10 {
		next = max(left/10, time.Second)
	}
	return next
}
