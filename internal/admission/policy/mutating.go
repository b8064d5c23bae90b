package policy

import (
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/admission"

	"github.com/kemudi/kemudi/internal/auth"
)

// MutatingPlugin is the MutatingAdmissionPolicy admission plugin
// (auth.MutatingAdmission): the bound policies that match a create or
// update change its object with their CEL mutations, apply
// configurations merged as server-side apply merges, or JSON patches.
// FeedMutating keeps its policies and bindings current; MutatingPhase
// orders it before the webhooks, as upstream.
type MutatingPlugin struct {
	cfg      Config
	compiler compiler
	kinds    kinds
	objects  admission.ObjectInterfaces
	types    *typeConverters

	snap atomic.Pointer[mutatingSnapshot]

	mu       sync.Mutex // guards what follows; requests read snap only
	policies map[string]*compiledMutating
	bindings map[string]*compiledMutatingBinding
}

type compiledMutating struct {
	policy    *admissionregistrationv1.MutatingAdmissionPolicy
	match     *matcher
	mutator   *mutator
	paramKind *schema.GroupVersionKind
	paramErr  error
	bindings  []*compiledMutatingBinding

	uid        types.UID
	generation int64
}

type compiledMutatingBinding struct {
	binding *admissionregistrationv1.MutatingAdmissionPolicyBinding
	match   *matcher
}

type mutatingSnapshot struct {
	policies []*compiledMutating
}

// NewMutating returns a plugin with no policies. cfg.Scheme is required:
// built-in objects are converted to the unstructured form CEL and the
// patches work on, and back.
func NewMutating(cfg Config) *MutatingPlugin {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	p := &MutatingPlugin{
		cfg:      cfg,
		kinds:    newKinds(cfg),
		objects:  admission.NewObjectInterfacesFromScheme(cfg.Scheme),
		types:    newTypeConverters(cfg.Scheme, cfg.CustomTypes),
		policies: map[string]*compiledMutating{},
		bindings: map[string]*compiledMutatingBinding{},
	}
	p.snap.Store(&mutatingSnapshot{})
	return p
}

var _ auth.MutatingAdmission = (*MutatingPlugin)(nil)

// SetPolicy adds or replaces a policy, compiled again only when its
// generation (or identity) changed.
func (p *MutatingPlugin) SetPolicy(pol *admissionregistrationv1.MutatingAdmissionPolicy) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.setPolicyLocked(pol)
	p.publishLocked()
}

func (p *MutatingPlugin) setPolicyLocked(pol *admissionregistrationv1.MutatingAdmissionPolicy) {
	if old, ok := p.policies[pol.Name]; ok && old.uid == pol.UID && old.generation == pol.Generation && pol.Generation != 0 {
		old.policy = pol
		return
	}
	cp := &compiledMutating{policy: pol, match: newMatcher(pol.Spec.MatchConstraints), mutator: p.compiler.compileMutating(pol), uid: pol.UID, generation: pol.Generation}
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
func (p *MutatingPlugin) DeletePolicy(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.policies, name)
	p.publishLocked()
}

// ResetPolicies replaces every policy.
func (p *MutatingPlugin) ResetPolicies(pols []*admissionregistrationv1.MutatingAdmissionPolicy) {
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
func (p *MutatingPlugin) SetBinding(b *admissionregistrationv1.MutatingAdmissionPolicyBinding) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bindings[b.Name] = &compiledMutatingBinding{binding: b, match: newMatcher(b.Spec.MatchResources)}
	p.publishLocked()
}

// DeleteBinding removes a binding.
func (p *MutatingPlugin) DeleteBinding(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.bindings, name)
	p.publishLocked()
}

// ResetBindings replaces every binding.
func (p *MutatingPlugin) ResetBindings(bs []*admissionregistrationv1.MutatingAdmissionPolicyBinding) {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.bindings)
	for _, b := range bs {
		p.bindings[b.Name] = &compiledMutatingBinding{binding: b, match: newMatcher(b.Spec.MatchResources)}
	}
	p.publishLocked()
}

// publishLocked builds the snapshot requests read: the policies that
// have bindings, in name order, each with its bindings in name order
// (the order mutations apply in).
func (p *MutatingPlugin) publishLocked() {
	byPolicy := map[string][]*compiledMutatingBinding{}
	for _, b := range p.bindings {
		byPolicy[b.binding.Spec.PolicyName] = append(byPolicy[b.binding.Spec.PolicyName], b)
	}
	s := &mutatingSnapshot{}
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
