package webhookconfig

import (
	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DefaultTimeoutSeconds is how long a webhook is waited for unless it says.
const DefaultTimeoutSeconds = 10

// Default fills a validating webhook's unset fields as upstream's v1
// defaulting does. sideEffects and admissionReviewVersions have no default
// in v1: they are required.
func Default(w *admissionv1.ValidatingWebhook) {
	defaultCommon(&w.FailurePolicy, &w.MatchPolicy, &w.NamespaceSelector, &w.ObjectSelector, &w.TimeoutSeconds, w.Rules, &w.ClientConfig)
}

// DefaultMutating is Default for a mutating webhook, whose reinvocation
// policy is Never unless it says.
func DefaultMutating(w *admissionv1.MutatingWebhook) {
	defaultCommon(&w.FailurePolicy, &w.MatchPolicy, &w.NamespaceSelector, &w.ObjectSelector, &w.TimeoutSeconds, w.Rules, &w.ClientConfig)
	if w.ReinvocationPolicy == nil {
		p := admissionv1.NeverReinvocationPolicy
		w.ReinvocationPolicy = &p
	}
}

func defaultCommon(fail **admissionv1.FailurePolicyType, match **admissionv1.MatchPolicyType, ns, obj **metav1.LabelSelector, timeout **int32, rules []admissionv1.RuleWithOperations, cc *admissionv1.WebhookClientConfig) {
	if *fail == nil {
		p := admissionv1.Fail
		*fail = &p
	}
	if *match == nil {
		p := admissionv1.Equivalent
		*match = &p
	}
	if *ns == nil {
		*ns = &metav1.LabelSelector{}
	}
	if *obj == nil {
		*obj = &metav1.LabelSelector{}
	}
	if *timeout == nil {
		t := int32(DefaultTimeoutSeconds)
		*timeout = &t
	}
	for i := range rules {
		if rules[i].Scope == nil {
			s := admissionv1.AllScopes
			rules[i].Scope = &s
		}
	}
	if cc.Service != nil && cc.Service.Port == nil {
		p := int32(443)
		cc.Service.Port = &p
	}
}

// AsValidating returns the fields a mutating webhook shares with a
// validating one, so that one validation (and one dispatcher) serves both.
func AsValidating(m *admissionv1.MutatingWebhook) admissionv1.ValidatingWebhook {
	return admissionv1.ValidatingWebhook{
		Name:                    m.Name,
		ClientConfig:            m.ClientConfig,
		Rules:                   m.Rules,
		FailurePolicy:           m.FailurePolicy,
		MatchPolicy:             m.MatchPolicy,
		NamespaceSelector:       m.NamespaceSelector,
		ObjectSelector:          m.ObjectSelector,
		SideEffects:             m.SideEffects,
		TimeoutSeconds:          m.TimeoutSeconds,
		AdmissionReviewVersions: m.AdmissionReviewVersions,
		MatchConditions:         m.MatchConditions,
	}
}
