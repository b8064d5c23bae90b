package webhookconfig

import (
	"fmt"
	"slices"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/util/webhook"
)

// acceptedReviewVersions are the AdmissionReview versions a webhook may
// ask for; kemudi sends v1 (a webhook must accept it).
var acceptedReviewVersions = []string{"v1", "v1beta1"}

var (
	supportedOperations      = sets.New("*", "CREATE", "UPDATE", "DELETE", "CONNECT")
	supportedScopes          = sets.New("*", "Cluster", "Namespaced")
	supportedFailurePolicies = sets.New("Fail", "Ignore")
	supportedMatchPolicies   = sets.New("Exact", "Equivalent")
	supportedReinvocation    = sets.New("Never", "IfNeeded")
	noSideEffectClasses      = sets.New("None", "NoneOnDryRun")
)

// Validator checks webhooks as upstream does. Its CEL compiler is built
// on first use (building the environment takes a while).
type Validator struct {
	cel *conditionCompiler
}

// NewValidator returns a Validator.
func NewValidator() *Validator { return &Validator{cel: newConditionCompiler()} }

// ValidateWebhooks checks a configuration's webhooks under path
// ("webhooks"): each one, and that their names are unique. old holds the
// match condition expressions already stored (compiled with the stored
// expressions' environment), nil on create.
func (v *Validator) ValidateWebhooks(path *field.Path, hooks []admissionv1.ValidatingWebhook, old sets.Set[string]) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for i := range hooks {
		p := path.Index(i)
		errs = append(errs, v.validateWebhook(p, &hooks[i], old)...)
		if names.Has(hooks[i].Name) {
			errs = append(errs, field.Duplicate(p.Child("name"), hooks[i].Name))
		}
		names.Insert(hooks[i].Name)
	}
	return errs
}

// ValidateReinvocation checks a mutating webhook's reinvocationPolicy.
func ValidateReinvocation(path *field.Path, p *admissionv1.ReinvocationPolicyType) field.ErrorList {
	if p != nil && !supportedReinvocation.Has(string(*p)) {
		return field.ErrorList{field.NotSupported(path, *p, sets.List(supportedReinvocation))}
	}
	return nil
}

func (v *Validator) validateWebhook(p *field.Path, h *admissionv1.ValidatingWebhook, old sets.Set[string]) field.ErrorList {
	errs := utilvalidation.IsFullyQualifiedName(p.Child("name"), h.Name)
	for i := range h.Rules {
		errs = append(errs, ValidateRuleWithOperations(p.Child("rules").Index(i), &h.Rules[i])...)
	}
	if h.FailurePolicy != nil && !supportedFailurePolicies.Has(string(*h.FailurePolicy)) {
		errs = append(errs, field.NotSupported(p.Child("failurePolicy"), *h.FailurePolicy, sets.List(supportedFailurePolicies)))
	}
	if h.MatchPolicy != nil && !supportedMatchPolicies.Has(string(*h.MatchPolicy)) {
		errs = append(errs, field.NotSupported(p.Child("matchPolicy"), *h.MatchPolicy, sets.List(supportedMatchPolicies)))
	}
	switch {
	case h.SideEffects == nil:
		errs = append(errs, field.Required(p.Child("sideEffects"), fmt.Sprintf("must specify one of %v", strings.Join(sets.List(noSideEffectClasses), ", "))))
	case !noSideEffectClasses.Has(string(*h.SideEffects)):
		errs = append(errs, field.NotSupported(p.Child("sideEffects"), *h.SideEffects, sets.List(noSideEffectClasses)))
	}
	if t := h.TimeoutSeconds; t != nil && (*t > 30 || *t < 1) {
		errs = append(errs, field.Invalid(p.Child("timeoutSeconds"), *t, "the timeout value must be between 1 and 30 seconds"))
	}
	if h.NamespaceSelector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(h.NamespaceSelector, metav1validation.LabelSelectorValidationOptions{}, p.Child("namespaceSelector"))...)
	}
	if h.ObjectSelector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(h.ObjectSelector, metav1validation.LabelSelectorValidationOptions{}, p.Child("objectSelector"))...)
	}
	errs = append(errs, validateReviewVersions(p.Child("admissionReviewVersions"), h.AdmissionReviewVersions)...)
	errs = append(errs, validateClientConfig(p.Child("clientConfig"), &h.ClientConfig)...)
	errs = append(errs, v.validateMatchConditions(p.Child("matchConditions"), h.MatchConditions, old)...)
	return errs
}

func validateClientConfig(p *field.Path, cc *admissionv1.WebhookClientConfig) field.ErrorList {
	switch {
	case (cc.URL == nil) == (cc.Service == nil):
		return field.ErrorList{field.Required(p, "exactly one of url or service is required")}
	case cc.URL != nil:
		return webhook.ValidateWebhookURL(p.Child("url"), *cc.URL, true)
	default:
		port := int32(443)
		if cc.Service.Port != nil {
			port = *cc.Service.Port
		}
		return webhook.ValidateWebhookService(p.Child("service"), cc.Service.Namespace, cc.Service.Name, cc.Service.Path, port)
	}
}

func validateReviewVersions(p *field.Path, versions []string) field.ErrorList {
	if len(versions) == 0 {
		return field.ErrorList{field.Required(p, fmt.Sprintf("must specify one of %v", strings.Join(acceptedReviewVersions, ", ")))}
	}
	var errs field.ErrorList
	seen := sets.New[string]()
	accepted := false
	for i, v := range versions {
		if seen.Has(v) {
			errs = append(errs, field.Invalid(p.Index(i), v, "duplicate version"))
			continue
		}
		seen.Insert(v)
		for _, msg := range utilvalidation.IsDNS1035Label(v) {
			errs = append(errs, field.Invalid(p.Index(i), v, msg))
		}
		accepted = accepted || slices.Contains(acceptedReviewVersions, v)
	}
	if !accepted {
		errs = append(errs, field.Invalid(p, versions, fmt.Sprintf("must include at least one of %v", strings.Join(acceptedReviewVersions, ", "))))
	}
	return errs
}

// ValidateRuleWithOperations checks a rule's operations, groups, versions,
// resources and scope, with upstream's messages: the webhooks' rules and
// the admission policies' resource rules.
func ValidateRuleWithOperations(p *field.Path, r *admissionv1.RuleWithOperations) field.ErrorList {
	var errs field.ErrorList
	ops := p.Child("operations")
	if len(r.Operations) == 0 {
		errs = append(errs, field.Required(ops, ""))
	}
	if len(r.Operations) > 1 && slices.Contains(r.Operations, admissionv1.OperationAll) {
		errs = append(errs, field.Invalid(ops, r.Operations, "if '*' is present, must not specify other operations"))
	}
	for i, op := range r.Operations {
		if !supportedOperations.Has(string(op)) {
			errs = append(errs, field.NotSupported(ops.Index(i), op, sets.List(supportedOperations)))
		}
	}
	if len(r.APIGroups) == 0 {
		errs = append(errs, field.Required(p.Child("apiGroups"), ""))
	}
	if len(r.APIGroups) > 1 && slices.Contains(r.APIGroups, "*") {
		errs = append(errs, field.Invalid(p.Child("apiGroups"), r.APIGroups, "if '*' is present, must not specify other API groups"))
	}
	if len(r.APIVersions) == 0 {
		errs = append(errs, field.Required(p.Child("apiVersions"), ""))
	}
	if len(r.APIVersions) > 1 && slices.Contains(r.APIVersions, "*") {
		errs = append(errs, field.Invalid(p.Child("apiVersions"), r.APIVersions, "if '*' is present, must not specify other API versions"))
	}
	for i, v := range r.APIVersions {
		if v == "" {
			errs = append(errs, field.Required(p.Child("apiVersions").Index(i), ""))
		}
	}
	errs = append(errs, validateResources(p.Child("resources"), r.Resources)...)
	if r.Scope != nil && !supportedScopes.Has(string(*r.Scope)) {
		errs = append(errs, field.NotSupported(p.Child("scope"), *r.Scope, sets.List(supportedScopes)))
	}
	return errs
}

// validateResources checks "resource", "resource/subresource" and their
// wildcards for overlaps, with upstream's messages.
func validateResources(p *field.Path, resources []string) field.ErrorList {
	if len(resources) == 0 {
		return field.ErrorList{field.Required(p, "")}
	}
	var errs field.ErrorList
	wildSub := sets.New[string]() // x/*
	wildRes := sets.New[string]() // */x
	doubleWild, singleWild, plain := false, false, false
	for i, rs := range resources {
		if rs == "" {
			errs = append(errs, field.Required(p.Index(i), ""))
			continue
		}
		doubleWild = doubleWild || rs == "*/*"
		singleWild = singleWild || rs == "*"
		res, sub, ok := strings.Cut(rs, "/")
		if !ok {
			plain = plain || rs != "*"
			continue
		}
		if wildSub.Has(res) {
			errs = append(errs, field.Invalid(p.Index(i), rs, fmt.Sprintf("if '%s/*' is present, must not specify %s", res, rs)))
		}
		if wildRes.Has(sub) {
			errs = append(errs, field.Invalid(p.Index(i), rs, fmt.Sprintf("if '*/%s' is present, must not specify %s", sub, rs)))
		}
		if sub == "*" {
			wildSub.Insert(res)
		}
		if res == "*" {
			wildRes.Insert(sub)
		}
	}
	if len(resources) > 1 && doubleWild {
		errs = append(errs, field.Invalid(p, resources, "if '*/*' is present, must not specify other resources"))
	}
	if singleWild && plain {
		errs = append(errs, field.Invalid(p, resources, "if '*' is present, must not specify other resources without subresources"))
	}
	return errs
}

func (v *Validator) validateMatchConditions(p *field.Path, conds []admissionv1.MatchCondition, old sets.Set[string]) field.ErrorList {
	var errs field.ErrorList
	if len(conds) > 64 {
		errs = append(errs, field.TooMany(p, len(conds), 64))
	}
	names := sets.New[string]()
	for i, c := range conds {
		cp := p.Index(i)
		expr := strings.TrimSpace(c.Expression)
		if expr == "" {
			errs = append(errs, field.Required(cp.Child("expression"), ""))
		} else if err := v.cel.check(cp.Child("expression"), expr, old.Has(expr)); err != nil {
			errs = append(errs, err)
		}
		if c.Name == "" {
			errs = append(errs, field.Required(cp.Child("name"), ""))
		} else {
			for _, msg := range utilvalidation.IsQualifiedName(c.Name) {
				errs = append(errs, field.Invalid(cp.Child("name"), c.Name, msg))
			}
		}
		if c.Name != "" && names.Has(c.Name) {
			errs = append(errs, field.Duplicate(cp.Child("name"), c.Name))
		}
		names.Insert(c.Name)
	}
	return errs
}

// Expressions returns the match condition expressions of hooks, the ones
// an update may keep although a newer environment would refuse them.
func Expressions(hooks []admissionv1.ValidatingWebhook) sets.Set[string] {
	s := sets.New[string]()
	for _, h := range hooks {
		for _, c := range h.MatchConditions {
			s.Insert(strings.TrimSpace(c.Expression))
		}
	}
	return s
}
