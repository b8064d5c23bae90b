// Package webhookconfig holds what the two admission webhook
// configuration kinds of admissionregistration.k8s.io/v1 share: upstream's
// defaults and validation of one webhook (a mutating webhook is validated
// as the validating webhook it contains, plus its reinvocation policy), and
// the NAME WEBHOOKS AGE table.
package webhookconfig
