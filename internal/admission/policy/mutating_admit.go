package policy

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/mutating/patch"
	celconfig "k8s.io/apiserver/pkg/apis/cel"

	"github.com/kemudi/kemudi/internal/auth"
)

// Mutate implements auth.MutatingAdmission: the matching policies'
// mutations, once each. MutatingPhase adds upstream's reinvocation.
func (p *MutatingPlugin) Mutate(ctx context.Context, r *auth.AdmissionRequest) error {
	return p.mutate(ctx, r, &reinvocation{}, false)
}

// invocationKey names one invocation: a policy, a binding, a param.
type invocationKey struct {
	policy, binding, paramNamespace, paramName string
}

// reinvocation is what one write remembers between the rounds of the
// mutating phase, as upstream's policy reinvocation context: the
// IfNeeded invocations that ran since the object last changed, those to
// run again, and the object as the policies last left it.
type reinvocation struct {
	previous map[invocationKey]bool
	again    map[invocationKey]bool
	last     runtime.Object
	// needed is set when a policy changed the object after an IfNeeded
	// invocation ran: the phase runs a second round.
	needed bool
}

// changed marks that a mutation changed the object: the IfNeeded
// invocations before it run again in the second round.
func (rc *reinvocation) changed() {
	if len(rc.previous) == 0 {
		return
	}
	if rc.again == nil {
		rc.again = map[invocationKey]bool{}
	}
	for k := range rc.previous {
		rc.again[k] = true
	}
	clear(rc.previous)
	rc.needed = true
}

// policyError is a mutation (or configuration) that failed, for the
// failure policy to judge.
type policyError struct {
	policy  *admissionregistrationv1.MutatingAdmissionPolicy
	binding string // "" for the policy's own configuration
	err     error
	reason  metav1.StatusReason
}

func (e policyError) Error() string {
	if e.binding != "" {
		return fmt.Sprintf("policy '%s' with binding '%s' denied request: %s", e.policy.Name, e.binding, e.err.Error())
	}
	return fmt.Sprintf("policy %q denied request: %s", e.policy.Name, e.err.Error())
}

// mutation is one write going through the mutating policies.
type mutation struct {
	p    *MutatingPlugin
	ev   *evaluation
	rc   *reinvocation
	cur  *unstructured.Unstructured // the object as mutated so far
	old  runtime.Object             // unstructured old object, or nil
	errs []policyError
}

// mutate runs one round: the first (every matching invocation) or, with
// reinvoke, the second (only the IfNeeded invocations to run again).
func (p *MutatingPlugin) mutate(ctx context.Context, r *auth.AdmissionRequest, rc *reinvocation, reinvoke bool) error {
	s := p.bound()
	if len(s.policies) == 0 || r.Object == nil || (r.Operation != auth.Create && r.Operation != auth.Update) {
		return nil
	}
	if excluded[schema.GroupResource{Group: r.APIGroup, Resource: r.Resource}] {
		return nil
	}
	if reinvoke && rc.last != nil && !equality.Semantic.DeepEqual(rc.last, r.Object) {
		rc.changed() // a webhook changed the object since the policies ran
	}
	req := p.kinds.request(r)
	ev := &evaluation{cfg: &p.cfg, r: req}
	if p.cfg.Authorizer != nil {
		ev.authz = auth.UpstreamAuthorizer(p.cfg.Authorizer)
	}
	cur, err := toUnstructured(r.Object, req.gvk)
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	old, err := toUnstructured(r.Old, req.gvk)
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	m := &mutation{p: p, ev: ev, rc: rc, cur: cur}
	if old != nil {
		m.old = old
	}
	for _, cp := range s.policies {
		if err := m.policy(ctx, cp, reinvoke); err != nil {
			return err
		}
	}
	if m.cur != cur {
		obj, err := fromUnstructured(m.cur, r.Object)
		if err != nil {
			return apierrors.NewInternalError(err)
		}
		r.Object = obj
	}
	rc.last = r.Object.DeepCopyObject()
	return m.refusal()
}

// policy runs one policy with each binding (and param) that matches.
// Only an API status error (a namespace that cannot be read) is
// returned; the rest is collected for the failure policy.
func (m *mutation) policy(ctx context.Context, cp *compiledMutating, reinvoke bool) error {
	req := m.ev.r
	ok, err := cp.match.matches(ctx, req, m.ev.namespaceLabels)
	switch {
	case err != nil:
		m.configError(cp, "", err)
		return nil
	case !ok:
		return nil
	case cp.paramErr != nil:
		m.configError(cp, "", fmt.Errorf("failed to parse paramKind APIVersion: %w", cp.paramErr))
		return nil
	case cp.eval.err != nil:
		m.configError(cp, "", fmt.Errorf("failed to initialize CEL compiler: %w", cp.eval.err))
		return nil
	}
	for _, cb := range cp.bindings {
		ok, err := cb.match.matches(ctx, req, m.ev.namespaceLabels)
		if err != nil {
			m.configError(cp, cb.binding.Name, err)
			continue
		}
		if !ok {
			continue
		}
		params, err := collectParams(ctx, m.ev.cfg.Params, cp.policy.Spec.ParamKind, cp.paramKind, cb.binding.Spec.ParamRef, req.Namespace)
		if err != nil {
			m.configError(cp, cb.binding.Name, err)
			continue
		}
		for _, param := range params {
			if err := m.invoke(ctx, cp, cb, param, reinvoke); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *mutation) configError(cp *compiledMutating, binding string, err error) {
	if binding == "" {
		err = fmt.Errorf("failed to configure policy: %w", err)
	} else {
		err = fmt.Errorf("failed to configure binding: %w", err)
	}
	m.errs = append(m.errs, policyError{policy: cp.policy, binding: binding, err: err})
}

// invoke applies a policy's mutations in order for one binding and
// param, after its match conditions.
func (m *mutation) invoke(ctx context.Context, cp *compiledMutating, cb *compiledMutatingBinding, param runtime.Object, reinvoke bool) error {
	key := invocationKey{policy: cp.policy.Name, binding: cb.binding.Name}
	if param != nil {
		if a, err := meta.Accessor(param); err == nil {
			key.paramNamespace, key.paramName = a.GetNamespace(), a.GetName()
		}
	}
	if reinvoke && !m.rc.again[key] {
		return nil
	}
	ns, err := m.ev.namespace(ctx)
	if err != nil {
		return err
	}
	ctx = cp.eval.comp.CreateContext(ctx)
	if cp.eval.matcher != nil {
		res := cp.eval.matcher.Match(ctx, m.attributes(), param, m.ev.authz)
		if res.Error != nil {
			m.errs = append(m.errs, policyError{policy: cp.policy, binding: cb.binding.Name, err: res.Error, reason: metav1.StatusReasonInvalid})
			return nil
		}
		if !res.Matches {
			return nil
		}
	}
	before := m.cur
	types := m.p.types.forKind(m.ev.r.gvk, !isUnstructured(m.ev.r.Object))
	for _, pt := range cp.eval.patchers {
		out, err := pt.Patch(ctx, patch.Request{
			MatchedResource:     m.ev.r.gvr,
			VersionedAttributes: m.attributes(),
			ObjectInterfaces:    m.p.objects,
			OptionalVariables:   plugincel.OptionalVariableBindings{VersionedParams: param, Authorizer: m.ev.authz},
			Namespace:           ns,
			TypeConverter:       types,
		}, celconfig.RuntimeCELCostBudget)
		if err != nil {
			var status *apierrors.StatusError
			if errors.As(err, &status) {
				return status
			}
			m.errs = append(m.errs, policyError{policy: cp.policy, binding: cb.binding.Name, err: err, reason: metav1.StatusReasonInvalid})
			continue
		}
		u, ok := out.(*unstructured.Unstructured)
		if !ok {
			return apierrors.NewInternalError(fmt.Errorf("policy %s: patch gave %T", cp.policy.Name, out))
		}
		m.cur = u
	}
	if m.cur != before && !equality.Semantic.DeepEqual(before.Object, m.cur.Object) {
		m.rc.changed()
	} else {
		m.cur = before
	}
	if cp.policy.Spec.ReinvocationPolicy == admissionregistrationv1.IfNeededReinvocationPolicy {
		if m.rc.previous == nil {
			m.rc.previous = map[invocationKey]bool{}
		}
		m.rc.previous[key] = true
	}
	return nil
}

// attributes are the request as CEL and the patches read it, with the
// object as mutated so far.
func (m *mutation) attributes() *admission.VersionedAttributes {
	r := m.ev.r
	var old runtime.Object
	if m.old != nil {
		old = m.old
	}
	a := admission.NewAttributesRecord(m.cur, old, r.gvk, r.Namespace, r.Name, r.gvr, r.Subresource,
		admission.Operation(r.Operation), r.Options, r.DryRun, auth.UpstreamUser(r.User))
	return &admission.VersionedAttributes{
		Attributes:         a,
		VersionedKind:      r.gvk,
		VersionedObject:    admission.NewLazyObject(m.cur),
		VersionedOldObject: admission.NewLazyObject(old),
	}
}

// refusal applies the failure policies to the errors collected: those of
// policies that Fail refuse the write, as upstream words it (403, the
// first error's message and reason, every error as a cause).
func (m *mutation) refusal() error {
	var failed []policyError
	for _, e := range m.errs {
		if fp := e.policy.Spec.FailurePolicy; fp != nil && *fp == admissionregistrationv1.Ignore {
			continue
		}
		failed = append(failed, e)
	}
	if len(failed) == 0 {
		return nil
	}
	r := m.ev.r
	err := apierrors.NewForbidden(schema.GroupResource{Group: r.APIGroup, Resource: r.Resource}, r.nameForError(), errors.New("admission request denied by policy"))
	err.ErrStatus.Message = failed[0].Error()
	if failed[0].reason != "" {
		err.ErrStatus.Reason = failed[0].reason
	}
	for _, e := range failed {
		err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{Message: e.Error()})
	}
	return err
}

func isUnstructured(obj runtime.Object) bool {
	_, ok := obj.(*unstructured.Unstructured)
	return ok
}

// fromUnstructured turns a mutated object back into like's Go type. A
// field the type does not have is an error, as upstream's strict
// decoding of a patched object. A typed object that came without
// apiVersion and kind goes back without them.
func fromUnstructured(u *unstructured.Unstructured, like runtime.Object) (runtime.Object, error) {
	if isUnstructured(like) {
		return u, nil
	}
	out := reflect.New(reflect.TypeOf(like).Elem()).Interface().(runtime.Object)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, out, true); err != nil {
		return nil, fmt.Errorf("mutated object: %w", err)
	}
	if like.GetObjectKind().GroupVersionKind().Empty() {
		out.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
	}
	return out, nil
}
