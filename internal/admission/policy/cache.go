package policy

import (
	"sort"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
)

// compiledPolicy is a policy ready to evaluate: compiled once per
// generation, with the bindings that name it.
type compiledPolicy struct {
	policy    *admissionregistrationv1.ValidatingAdmissionPolicy
	match     *matcher
	validator validating.Validator
	paramKind *schema.GroupVersionKind // nil without spec.paramKind
	paramErr  error                    // a paramKind that does not parse
	bindings  []*compiledBinding
	// uid and generation say which version of the policy was compiled.
	uid        types.UID
	generation int64
}

type compiledBinding struct {
	binding *admissionregistrationv1.ValidatingAdmissionPolicyBinding
	match   *matcher
}

// snapshot is what requests read: the bound policies, immutable once
// published.
type snapshot struct {
	policies []*compiledPolicy
}

// SetPolicy adds or replaces a policy; it compiles again only when the
// policy's generation (or identity) changed.
func (p *Plugin) SetPolicy(pol *admissionregistrationv1.ValidatingAdmissionPolicy) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.setPolicyLocked(pol)
	p.publishLocked()
}

func (p *Plugin) setPolicyLocked(pol *admissionregistrationv1.ValidatingAdmissionPolicy) {
	if old, ok := p.policies[pol.Name]; ok && old.uid == pol.UID && old.generation == pol.Generation && pol.Generation != 0 {
		old.policy = pol
		return
	}
	cp := &compiledPolicy{policy: pol, match: newMatcher(pol.Spec.MatchConstraints), validator: p.compiler.compile(pol), uid: pol.UID, generation: pol.Generation}
	if k := pol.Spec.ParamKind; k != nil {
		gv, err := schema.ParseGroupVersion(k.APIVersion)
		if err != nil {
			cp.paramErr = err
		} else {
			gvk := gv.WithKind(k.Kind)
			cp.paramKind = &gvk
		}
	}
	p.policies[pol.Name] = cp
}

// DeletePolicy removes a policy.
func (p *Plugin) DeletePolicy(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.policies, name)
	p.publishLocked()
}

// ResetPolicies replaces every policy (a fresh list from the store).
func (p *Plugin) ResetPolicies(pols []*admissionregistrationv1.ValidatingAdmissionPolicy) {
	p.mu.Lock()
	defer p.mu.Unlock()
	keep := map[string]bool{}
	for _, pol := range pols {
		p.setPolicyLocked(pol)
		keep[pol.Name] = true
	}
	for name := range p.policies {
		if !keep[name] {
			delete(p.policies, name)
		}
	}
	p.publishLocked()
}

// SetBinding adds or replaces a binding.
func (p *Plugin) SetBinding(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bindings[b.Name] = &compiledBinding{binding: b, match: newMatcher(b.Spec.MatchResources)}
	p.publishLocked()
}

// DeleteBinding removes a binding.
func (p *Plugin) DeleteBinding(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.bindings, name)
	p.publishLocked()
}

// ResetBindings replaces every binding.
func (p *Plugin) ResetBindings(bs []*admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.bindings)
	for _, b := range bs {
		p.bindings[b.Name] = &compiledBinding{binding: b, match: newMatcher(b.Spec.MatchResources)}
	}
	p.publishLocked()
}

// publishLocked builds the snapshot requests read: each policy that has
// bindings, with them, in name order. Policies without bindings do
// nothing and are left out.
func (p *Plugin) publishLocked() {
	byPolicy := map[string][]*compiledBinding{}
	for _, b := range p.bindings {
		byPolicy[b.binding.Spec.PolicyName] = append(byPolicy[b.binding.Spec.PolicyName], b)
	}
	s := &snapshot{}
	for name, bs := range byPolicy {
		cp, ok := p.policies[name]
		if !ok {
			continue
		}
		sort.Slice(bs, func(i, j int) bool { return bs[i].binding.Name < bs[j].binding.Name })
		bound := *cp
		bound.bindings = bs
		s.policies = append(s.policies, &bound)
	}
	sort.Slice(s.policies, func(i, j int) bool { return s.policies[i].policy.Name < s.policies[j].policy.Name })
	p.snap.Store(s)
}
