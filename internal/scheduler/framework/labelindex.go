package framework

import (
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
)

// labelIndex finds the pods that carry a label without looking at every
// pod: what topology spreading needs for every pod of a ReplicaSet (whose
// selector names its pod-template-hash), which would otherwise count over
// all pods of the cluster once per pod scheduled.
type labelIndex struct {
	pods map[podLabel]map[types.UID]indexedPod
}

// podLabel is one label of pods in one namespace.
type podLabel struct{ namespace, key, value string }

type indexedPod struct {
	info *PodInfo
	node string
}

func newLabelIndex() labelIndex { return labelIndex{pods: map[podLabel]map[types.UID]indexedPod{}} }

// replace moves the index from old's pods to ni's (either may be nil),
// both NodeInfos of the node called name (a NodeInfo of pods bound to a
// node not yet seen has no name of its own).
func (x *labelIndex) replace(name string, old, ni *NodeInfo) {
	if old != nil {
		for _, p := range old.Pods {
			x.remove(p, name)
		}
	}
	if ni != nil {
		for _, p := range ni.Pods {
			x.add(p, name)
		}
	}
}

func (x *labelIndex) add(p *PodInfo, node string) {
	for k, v := range p.Pod.Labels {
		l := podLabel{p.Pod.Namespace, k, v}
		set := x.pods[l]
		if set == nil {
			set = map[types.UID]indexedPod{}
			x.pods[l] = set
		}
		set[p.Pod.UID] = indexedPod{info: p, node: node}
	}
}

// remove forgets p as a pod of node; an entry the pod has since gained on
// another node stays.
func (x *labelIndex) remove(p *PodInfo, node string) {
	for k, v := range p.Pod.Labels {
		l := podLabel{p.Pod.Namespace, k, v}
		set := x.pods[l]
		if e, ok := set[p.Pod.UID]; ok && e.node == node {
			delete(set, p.Pod.UID)
			if len(set) == 0 {
				delete(x.pods, l)
			}
		}
	}
}

// candidates returns the smallest set of pods that holds every pod of
// namespace ns that sel can select, by one of its equality requirements;
// ok is false when sel has none (every pod is then a candidate).
func (x *labelIndex) candidates(ns string, sel labels.Selector) (_ map[types.UID]indexedPod, ok bool) {
	reqs, selectable := sel.Requirements()
	if !selectable {
		return nil, true // selects nothing
	}
	var best map[types.UID]indexedPod
	for _, r := range reqs {
		switch r.Operator() {
		case selection.Equals, selection.DoubleEquals, selection.In:
		default:
			continue
		}
		values := r.Values()
		if values.Len() != 1 {
			continue
		}
		set := x.pods[podLabel{ns, r.Key(), values.UnsortedList()[0]}]
		if len(set) == 0 {
			return nil, true
		}
		if !ok || len(set) < len(best) {
			best, ok = set, true
		}
	}
	return best, ok
}

// CountMatchingByNode counts, per node name, the pods of namespace ns
// that sel selects and that are not being deleted (an empty selector
// selects none).
func (s *Snapshot) CountMatchingByNode(ns string, sel labels.Selector) map[string]int {
	counts := map[string]int{}
	if sel.Empty() {
		return counts
	}
	count := func(p *PodInfo, node string) {
		if p.Pod.DeletionTimestamp == nil && p.Pod.Namespace == ns && sel.Matches(labels.Set(p.Pod.Labels)) {
			counts[node]++
		}
	}
	if set, ok := s.labels.candidates(ns, sel); ok {
		for _, e := range set {
			count(e.info, e.node)
		}
		return counts
	}
	for name, ni := range s.nodes {
		for _, p := range ni.Pods {
			count(p, name)
		}
	}
	return counts
}
