// Package webhook calls admission webhooks: the mutating and validating
// webhook configurations of admissionregistration.k8s.io/v1, as upstream's
// API server does. A Plugin holds the configurations, compiled once per
// change from a watch (Feed); on each write it picks the webhooks whose
// rules, namespace and object selectors and match conditions select the
// request, sends each an AdmissionReview v1 over HTTPS (to a URL, or to a
// ready endpoint of a service, dialled directly) and obeys the answers:
// JSONPatch mutations in order (reinvoked once when asked and a later
// webhook changed the object), validations in parallel, failurePolicy on
// errors, the timeout of each webhook, warnings and audit annotations.
//
// A Plugin with no webhook configured costs one atomic load per write.
package webhook
