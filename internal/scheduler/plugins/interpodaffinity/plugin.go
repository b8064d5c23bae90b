// Package interpodaffinity is the InterPodAffinity plugin: required pod
// affinity and anti-affinity by topology key filter nodes (the pod's own
// terms and those of pods already running), preferred terms score them.
//
// Terms by hostname are checked against the node's own pods; terms by
// any other topology key are counted per topology value once per cycle
// (upstream's algorithm with its 1.37 hostname fast path, which gives
// the same answers for less work).
package interpodaffinity

import (
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	corelisters "k8s.io/client-go/listers/core/v1"

	"github.com/kemudi/kemudi/internal/scheduler/framework"
)

// Name is the plugin's upstream name.
const Name = "InterPodAffinity"

// hardPodAffinityWeight is upstream's default weight of an existing
// pod's required affinity term in the incoming pod's score.
const hardPodAffinityWeight = 1

// Plugin is InterPodAffinity.
type Plugin struct {
	// namespaces resolves namespace selectors and namespace labels; nil
	// treats every namespace as unlabelled.
	namespaces corelisters.NamespaceLister

	// keys interns the incoming pods' terms by content, so that what a
	// running pod's MatchMemo remembers about a term serves every later
	// pod with the same term (the pods of one workload).
	mu   sync.Mutex
	keys map[string]*framework.TermKey
}

// maxKeys bounds the interned terms; past it they are forgotten (memos
// then miss once and learn again).
const maxKeys = 4096

// New returns the plugin.
func New(namespaces corelisters.NamespaceLister) *Plugin {
	return &Plugin{namespaces: namespaces, keys: map[string]*framework.TermKey{}}
}

// term is an incoming pod's term with its interned key.
type term struct {
	framework.AffinityTerm
	key *framework.TermKey
}

// matches is t.Matches(p, no namespace labels: the term's namespaces are
// resolved), remembered in p's memo.
func (t *term) matches(p *framework.PodInfo) bool {
	if m, known := p.Memo.Lookup(t.key); known {
		return m
	}
	m := t.Matches(p.Pod, nil)
	p.Memo.Remember(t.key, m)
	return m
}

// keyed interns resolved terms.
func (pl *Plugin) keyed(terms []framework.AffinityTerm) []term {
	out := make([]term, len(terms))
	pl.mu.Lock()
	defer pl.mu.Unlock()
	for i := range terms {
		c := canonical(&terms[i])
		k, ok := pl.keys[c]
		if !ok {
			if len(pl.keys) >= maxKeys {
				clear(pl.keys)
			}
			k = framework.NewTermKey(c)
			pl.keys[c] = k
		}
		out[i] = term{AffinityTerm: terms[i], key: k}
	}
	return out
}

// canonical is what decides which pods a resolved term matches: its
// namespaces and selectors (not its topology key).
func canonical(t *framework.AffinityTerm) string {
	ns := sets.List(t.Namespaces)
	return t.Selector.String() + "\x00" + strings.Join(ns, ",") + "\x00" + t.NamespaceSelector.String()
}

// Name implements framework.Plugin.
func (*Plugin) Name() string { return Name }

// namespaceLabels is the labels of namespace ns (nil if unknown).
func (pl *Plugin) namespaceLabels(ns string) labels.Set {
	if pl.namespaces == nil {
		return nil
	}
	n, err := pl.namespaces.Get(ns)
	if err != nil {
		return nil
	}
	return labels.Merge(n.Labels, nil)
}

// resolve returns copies of terms whose namespace selectors are turned
// into the namespaces they select now, as upstream does once per cycle.
func (pl *Plugin) resolve(terms []framework.AffinityTerm) ([]framework.AffinityTerm, error) {
	out := make([]framework.AffinityTerm, len(terms))
	for i, t := range terms {
		out[i] = t
		if t.NamespaceSelector.Empty() {
			continue
		}
		ns := t.Namespaces.Clone()
		if pl.namespaces != nil {
			list, err := pl.namespaces.List(t.NamespaceSelector)
			if err != nil {
				return nil, err
			}
			for _, n := range list {
				ns.Insert(n.Name)
			}
		}
		out[i].Namespaces = ns
		out[i].NamespaceSelector = labels.Nothing()
	}
	return out, nil
}

func (pl *Plugin) resolveWeighted(terms []framework.WeightedAffinityTerm) ([]framework.WeightedAffinityTerm, error) {
	plain := make([]framework.AffinityTerm, len(terms))
	for i := range terms {
		plain[i] = terms[i].AffinityTerm
	}
	resolved, err := pl.resolve(plain)
	if err != nil {
		return nil, err
	}
	out := make([]framework.WeightedAffinityTerm, len(terms))
	for i := range terms {
		out[i] = framework.WeightedAffinityTerm{AffinityTerm: resolved[i], Weight: terms[i].Weight}
	}
	return out, nil
}

// topologyPair is a topology key and one of its values.
type topologyPair struct{ key, value string }

// topologyCounts counts matching pods per topology pair.
type topologyCounts map[topologyPair]int64

func (m topologyCounts) clone() topologyCounts {
	c := make(topologyCounts, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func (m topologyCounts) update(nodeLabels map[string]string, key string, delta int64) {
	v, ok := nodeLabels[key]
	if !ok {
		return
	}
	p := topologyPair{key, v}
	m[p] += delta
	if m[p] == 0 {
		delete(m, p)
	}
}

// matchesAll is true when every term (there is at least one) selects
// pod.
func matchesAll(terms []term, pod *framework.PodInfo) bool {
	if len(terms) == 0 {
		return false
	}
	for i := range terms {
		if !terms[i].matches(pod) {
			return false
		}
	}
	return true
}

// selfMatchesAll is matchesAll of the pod's own terms against itself.
func selfMatchesAll(terms []framework.AffinityTerm, pod *framework.PodInfo) bool {
	if len(terms) == 0 {
		return false
	}
	for i := range terms {
		if !terms[i].Matches(pod.Pod, nil) {
			return false
		}
	}
	return true
}
