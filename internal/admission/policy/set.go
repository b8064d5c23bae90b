package policy

import (
	"sort"
	"sync"
	"sync/atomic"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// boundPolicy is a policy ready to evaluate: compiled once per
// generation into eval (a validator or a mutator), with the bindings that
// name it. P is the policy's type, B its binding's.
type boundPolicy[P, B metav1.Object, E any] struct {
	policy    P
	match     *matcher
	eval      E
	paramKind *schema.GroupVersionKind // nil without spec.paramKind
	paramErr  error                    // a paramKind that does not parse
	bindings  []*boundBinding[B]
	// uid and generation say which version of the policy was compiled.
	uid        types.UID
	generation int64
}

type boundBinding[B metav1.Object] struct {
	binding B
	match   *matcher
}

// boundSnapshot is what requests read: the policies that have bindings,
// in name order, each with its bindings in name order (the order
// validations report in and mutations apply in). Immutable once
// published.
type boundSnapshot[P, B metav1.Object, E any] struct {
	policies []*boundPolicy[P, B, E]
}

// policyKind is what a policySet needs to know of its kinds, which share
// their shape but not their Go types.
type policyKind[P, B metav1.Object, E any] struct {
	compile func(P) E
	// spec gives a policy's match constraints and param kind.
	spec func(P) (*admissionregistrationv1.MatchResources, *admissionregistrationv1.ParamKind)
	// target gives the policy a binding names and what it matches.
	target func(B) (policyName string, match *admissionregistrationv1.MatchResources)
}

// policySet keeps one kind's policies and bindings as the feed reports
// them and publishes the bound ones. Writers take mu; requests read snap
// only.
type policySet[P, B metav1.Object, E any] struct {
	kind policyKind[P, B, E]
	snap atomic.Pointer[boundSnapshot[P, B, E]]

	mu       sync.Mutex
	policies map[string]*boundPolicy[P, B, E]
	bindings map[string]*boundBinding[B]
}

// init readies an empty set; a set is used in place (it holds a mutex).
func (s *policySet[P, B, E]) init(kind policyKind[P, B, E]) {
	s.kind = kind
	s.policies = map[string]*boundPolicy[P, B, E]{}
	s.bindings = map[string]*boundBinding[B]{}
	s.snap.Store(&boundSnapshot[P, B, E]{})
}

// bound is the published snapshot.
func (s *policySet[P, B, E]) bound() *boundSnapshot[P, B, E] { return s.snap.Load() }

// SetPolicy adds or replaces a policy; it compiles again only when the
// policy's generation (or identity) changed.
func (s *policySet[P, B, E]) SetPolicy(pol P) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setPolicyLocked(pol)
	s.publishLocked()
}

func (s *policySet[P, B, E]) setPolicyLocked(pol P) {
	if old, ok := s.policies[pol.GetName()]; ok && old.uid == pol.GetUID() && old.generation == pol.GetGeneration() && pol.GetGeneration() != 0 {
		old.policy = pol
		return
	}
	match, paramKind := s.kind.spec(pol)
	bp := &boundPolicy[P, B, E]{policy: pol, match: newMatcher(match), eval: s.kind.compile(pol), uid: pol.GetUID(), generation: pol.GetGeneration()}
	if paramKind != nil {
		gv, err := schema.ParseGroupVersion(paramKind.APIVersion)
		if err != nil {
			bp.paramErr = err
		} else {
			gvk := gv.WithKind(paramKind.Kind)
			bp.paramKind = &gvk
		}
	}
	s.policies[pol.GetName()] = bp
}

// DeletePolicy removes a policy.
func (s *policySet[P, B, E]) DeletePolicy(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.policies, name)
	s.publishLocked()
}

// ResetPolicies replaces every policy (a fresh list from the store).
func (s *policySet[P, B, E]) ResetPolicies(pols []P) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keep := map[string]bool{}
	for _, pol := range pols {
		s.setPolicyLocked(pol)
		keep[pol.GetName()] = true
	}
	for name := range s.policies {
		if !keep[name] {
			delete(s.policies, name)
		}
	}
	s.publishLocked()
}

// SetBinding adds or replaces a binding.
func (s *policySet[P, B, E]) SetBinding(b B) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bindings[b.GetName()] = s.newBinding(b)
	s.publishLocked()
}

// DeleteBinding removes a binding.
func (s *policySet[P, B, E]) DeleteBinding(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.bindings, name)
	s.publishLocked()
}

// ResetBindings replaces every binding.
func (s *policySet[P, B, E]) ResetBindings(bs []B) {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.bindings)
	for _, b := range bs {
		s.bindings[b.GetName()] = s.newBinding(b)
	}
	s.publishLocked()
}

func (s *policySet[P, B, E]) newBinding(b B) *boundBinding[B] {
	_, match := s.kind.target(b)
	return &boundBinding[B]{binding: b, match: newMatcher(match)}
}

// publishLocked builds the snapshot requests read. Policies without
// bindings do nothing and are left out.
func (s *policySet[P, B, E]) publishLocked() {
	byPolicy := map[string][]*boundBinding[B]{}
	for _, b := range s.bindings {
		name, _ := s.kind.target(b.binding)
		byPolicy[name] = append(byPolicy[name], b)
	}
	snap := &boundSnapshot[P, B, E]{}
	for name, bs := range byPolicy {
		bp, ok := s.policies[name]
		if !ok {
			continue
		}
		sort.Slice(bs, func(i, j int) bool { return bs[i].binding.GetName() < bs[j].binding.GetName() })
		bound := *bp
		bound.bindings = bs
		snap.policies = append(snap.policies, &bound)
	}
	sort.Slice(snap.policies, func(i, j int) bool { return snap.policies[i].policy.GetName() < snap.policies[j].policy.GetName() })
	s.snap.Store(snap)
}
