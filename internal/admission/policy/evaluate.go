package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/kemudi/kemudi/internal/auth"
)

// Upstream's limits on what policies write to the audit log.
const (
	maxAuditAnnotationValue = 10 * 1024
	maxValidationFailures   = 50
	failureAnnotation       = "validation.policy.admission.k8s.io/validation_failure"
)

// denial is a decision that refuses the write.
type denial struct {
	policy  string
	binding string // "" for a policy's configuration error
	message string
	reason  metav1.StatusReason
}

// failure is one entry of the validation_failure audit annotation.
type failure struct {
	Message           string                                     `json:"message"`
	Policy            string                                     `json:"policy"`
	Binding           string                                     `json:"binding"`
	ExpressionIndex   int                                        `json:"expressionIndex"`
	ValidationActions []admissionregistrationv1.ValidationAction `json:"validationActions"`
}

// evaluation holds what one request computes at most once: its
// attributes as upstream's CEL reads them and its namespace.
type evaluation struct {
	cfg     *Config
	r       *request
	attrs   *admission.VersionedAttributes
	nsDone  bool
	ns      *corev1.Namespace
	nsErr   error
	authz   authorizer.UnconditionalAuthorizer
	denials []denial
	fails   []failure
}

func (p *Plugin) evaluate(ctx context.Context, s *snapshot, r *request) error {
	ev := &evaluation{cfg: &p.cfg, r: r}
	if p.cfg.Authorizer != nil {
		ev.authz = auth.UpstreamAuthorizer(p.cfg.Authorizer)
	}
	for _, cp := range s.policies {
		if err := ev.policy(ctx, cp); err != nil {
			return err
		}
	}
	if len(ev.fails) > 0 {
		fails := ev.fails
		if len(fails) > maxValidationFailures {
			fails = fails[:maxValidationFailures]
		}
		if b, err := json.Marshal(fails); err == nil {
			auth.Annotate(ctx, failureAnnotation, string(b))
		}
	}
	if len(ev.denials) == 0 {
		return nil
	}
	return ev.refusal(ev.denials[0])
}

// policy evaluates one policy with each of its bindings that matches.
func (ev *evaluation) policy(ctx context.Context, cp *compiledPolicy) error {
	ok, err := cp.match.matches(ctx, ev.r, ev.namespaceLabels)
	if err != nil {
		ev.configError(cp, nil, err)
		return nil
	}
	if !ok {
		return nil
	}
	if cp.paramErr != nil {
		ev.configError(cp, nil, fmt.Errorf("failed to parse paramKind APIVersion: %w", cp.paramErr))
		return nil
	}
	annotations := map[string][]string{}
	for _, cb := range cp.bindings {
		ok, err := cb.match.matches(ctx, ev.r, ev.namespaceLabels)
		if err != nil {
			ev.configError(cp, cb, err)
			continue
		}
		if !ok {
			continue
		}
		params, err := ev.params(ctx, cp, cb.binding.Spec.ParamRef)
		if err != nil {
			ev.configError(cp, cb, err)
			continue
		}
		if len(params) == 0 {
			continue // no params, parameterNotFoundAction Allow
		}
		attrs, err := ev.attributes()
		if err != nil {
			ev.configError(cp, cb, fmt.Errorf("failed to convert object version: %w", err))
			continue
		}
		ns, err := ev.namespace(ctx)
		if err != nil {
			return err
		}
		for _, param := range params {
			res := cp.eval.Validate(ctx, ev.r.gvr, attrs, param, ns, celconfig.RuntimeCELCostBudget, ev.authz)
			ev.decisions(ctx, cp, cb, res, annotations)
		}
	}
	for key, values := range annotations {
		auth.Annotate(ctx, cp.policy.Name+"/"+key, strings.Join(values, ", "))
	}
	return nil
}

// decisions applies one validation result as the binding's actions say.
func (ev *evaluation) decisions(ctx context.Context, cp *compiledPolicy, cb *compiledBinding, res validating.ValidateResult, annotations map[string][]string) {
	b := cb.binding
	for i, d := range res.Decisions {
		if d.Action != validating.ActionDeny {
			continue
		}
		for _, action := range b.Spec.ValidationActions {
			switch action {
			case admissionregistrationv1.Deny:
				ev.denials = append(ev.denials, denial{policy: cp.policy.Name, binding: b.Name, message: d.Message, reason: d.Reason})
			case admissionregistrationv1.Audit:
				ev.fails = append(ev.fails, failure{Message: d.Message, Policy: b.Spec.PolicyName, Binding: b.Name, ExpressionIndex: i, ValidationActions: b.Spec.ValidationActions})
			case admissionregistrationv1.Warn:
				auth.Warn(ctx, fmt.Sprintf("Validation failed for ValidatingAdmissionPolicy '%s' with binding '%s': %s", cp.policy.Name, b.Name, d.Message))
			}
		}
	}
	for _, a := range res.AuditAnnotations {
		switch a.Action {
		case validating.AuditAnnotationActionPublish:
			v := a.Value
			if len(v) > maxAuditAnnotationValue {
				v = v[:maxAuditAnnotationValue]
			}
			if !containsString(annotations[a.Key], v) {
				annotations[a.Key] = append(annotations[a.Key], v)
			}
		case validating.AuditAnnotationActionError:
			// With failurePolicy Fail, an annotation that fails refuses.
			ev.denials = append(ev.denials, denial{policy: cp.policy.Name, binding: b.Name, message: a.Error})
		}
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// configError applies the policy's failure policy to an error in its
// configuration (a selector, a param that cannot be found).
func (ev *evaluation) configError(cp *compiledPolicy, cb *compiledBinding, err error) {
	fp := admissionregistrationv1.Fail
	if cp.policy.Spec.FailurePolicy != nil {
		fp = *cp.policy.Spec.FailurePolicy
	}
	d := denial{policy: cp.policy.Name}
	switch {
	case fp == admissionregistrationv1.Ignore:
		return
	case fp != admissionregistrationv1.Fail:
		d.message = fmt.Sprintf("unrecognized failure policy: '%v'", fp)
	case cb == nil:
		d.message = fmt.Errorf("failed to configure policy: %w", err).Error()
	default:
		d.message = fmt.Errorf("failed to configure binding: %w", err).Error()
	}
	if cb != nil {
		d.binding = cb.binding.Name
	}
	ev.denials = append(ev.denials, d)
}

// refusal is the error upstream returns for a denial: Forbidden's
// message, with the validation's reason (Invalid unless it says) and
// the matching code.
func (ev *evaluation) refusal(d denial) error {
	var msg string
	if d.binding != "" {
		msg = fmt.Sprintf("ValidatingAdmissionPolicy '%s' with binding '%s' denied request: %s", d.policy, d.binding, d.message)
	} else {
		msg = fmt.Sprintf("ValidatingAdmissionPolicy '%s' denied request: %s", d.policy, d.message)
	}
	gr := schema.GroupResource{Group: ev.r.APIGroup, Resource: ev.r.Resource}
	err := apierrors.NewForbidden(gr, ev.r.nameForError(), errors.New(msg))
	reason := d.reason
	if reason == "" {
		reason = metav1.StatusReasonInvalid
	}
	err.ErrStatus.Reason = reason
	err.ErrStatus.Code = reasonCode(reason)
	err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{Message: msg})
	return err
}

func reasonCode(r metav1.StatusReason) int32 {
	switch r {
	case metav1.StatusReasonForbidden:
		return http.StatusForbidden
	case metav1.StatusReasonUnauthorized:
		return http.StatusUnauthorized
	case metav1.StatusReasonRequestEntityTooLarge:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusUnprocessableEntity
}

// nameForError is the object's name as upstream's admission errors give
// it: the request's, else the object's name or generateName.
func (r *request) nameForError() string {
	if r.Name != "" {
		return r.Name
	}
	if r.Object != nil {
		if m, err := meta.Accessor(r.Object); err == nil {
			if m.GetName() != "" {
				return m.GetName()
			}
			if m.GetGenerateName() != "" {
				return m.GetGenerateName()
			}
		}
	}
	return "Unknown"
}

// namespaceLabels gives matching the labels of the request's namespace.
func (ev *evaluation) namespaceLabels(ctx context.Context, name string) (labels.Set, error) {
	ns, err := ev.namespace(ctx)
	if err != nil {
		return nil, err
	}
	if ns == nil {
		return nil, nil
	}
	return labels.Set(ns.Labels), nil
}

// namespace is the request's namespace object (nil for cluster-scoped
// objects and for a namespace itself), read once.
func (ev *evaluation) namespace(ctx context.Context) (*corev1.Namespace, error) {
	if ev.nsDone {
		return ev.ns, ev.nsErr
	}
	ev.nsDone = true
	if ev.r.Namespace == "" || ev.r.isNamespace() || ev.cfg.Namespaces == nil {
		return nil, nil
	}
	ev.ns, ev.nsErr = ev.cfg.Namespaces.GetNamespace(ctx, ev.r.Namespace)
	return ev.ns, ev.nsErr
}

// attributes are the request as upstream's CEL reads it, built once:
// the objects as unstructured maps with apiVersion and kind (typed
// objects from the store carry neither).
func (ev *evaluation) attributes() (*admission.VersionedAttributes, error) {
	if ev.attrs != nil {
		return ev.attrs, nil
	}
	r := ev.r
	obj, err := toUnstructured(r.Object, r.gvk)
	if err != nil {
		return nil, err
	}
	old, err := toUnstructured(r.Old, r.gvk)
	if err != nil {
		return nil, err
	}
	var objArg, oldArg runtime.Object
	if obj != nil {
		objArg = obj
	}
	if old != nil {
		oldArg = old
	}
	a := admission.NewAttributesRecord(objArg, oldArg, r.gvk, r.Namespace, r.Name, r.gvr, r.Subresource,
		admission.Operation(r.Operation), r.Options, r.DryRun, auth.UpstreamUser(r.User))
	ev.attrs = &admission.VersionedAttributes{
		Attributes:         a,
		VersionedKind:      r.gvk,
		VersionedObject:    admission.NewLazyObject(objArg),
		VersionedOldObject: admission.NewLazyObject(oldArg),
	}
	return ev.attrs, nil
}
