package node

import (
	"sync"

	corev1 "k8s.io/api/core/v1"
)

// Kinds of objects the graph relates to nodes, by their resource names.
const (
	KindPod                   = "pods"
	KindSecret                = "secrets"
	KindConfigMap             = "configmaps"
	KindPVC                   = "persistentvolumeclaims"
	KindPV                    = "persistentvolumes"
	KindServiceAccount        = "serviceaccounts"
	KindResourceClaim         = "resourceclaims"
	KindVolumeAttachment      = "volumeattachments"
	KindResourceSlice         = "resourceslices"
	KindPodCertificateRequest = "podcertificaterequests"
)

// ref names one object; namespace is "" for cluster-scoped kinds.
type ref struct{ kind, namespace, name string }

// Graph relates nodes to the objects they may read, as upstream's node
// authorizer graph does. Its edges all lead to a node:
//
//	pod -> node
//	secret, configmap, pvc, service account, resource claim -> pod
//	pv -> pvc (the PV's claimRef)
//	secret -> pv (the secrets of the PV's source the kubelet uses)
//	volume attachment, resource slice, pod certificate request -> node
//
// A node may read an object when a path leads from it to the node.
type Graph struct {
	mu sync.RWMutex
	// pods are the bound pods, by namespace/name.
	pods map[ref]podEntry
	// uses counts, for each object a pod references, the pods of each
	// node that reference it.
	uses map[ref]map[string]int
	// pvs are the persistent volumes with a claim, by name.
	pvs map[string]pvEntry
	// pvSecrets lists, for each secret, the PVs that name it.
	pvSecrets map[ref]map[string]bool
	// onNode is the node of objects tied to one node directly (volume
	// attachments, resource slices, pod certificate requests).
	onNode map[ref]string
}

type podEntry struct {
	node string
	refs []ref
}

type pvEntry struct {
	claim   ref
	secrets []ref
}

// NewGraph returns an empty graph.
func NewGraph() *Graph {
	return &Graph{
		pods:      map[ref]podEntry{},
		uses:      map[ref]map[string]int{},
		pvs:       map[string]pvEntry{},
		pvSecrets: map[ref]map[string]bool{},
		onNode:    map[ref]string{},
	}
}

// HasPath reports whether a path leads from the object (kind is one of
// the Kind constants) to node.
func (g *Graph) HasPath(node, kind, namespace, name string) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	r := ref{kind, namespace, name}
	switch kind {
	case KindPod:
		e, ok := g.pods[r]
		return ok && e.node == node
	case KindPV:
		return g.pvReachesLocked(node, name)
	case KindVolumeAttachment, KindResourceSlice, KindPodCertificateRequest:
		n, ok := g.onNode[r]
		return ok && n == node
	case KindSecret:
		if g.uses[r][node] > 0 {
			return true
		}
		for pv := range g.pvSecrets[r] {
			if g.pvReachesLocked(node, pv) {
				return true
			}
		}
		return false
	}
	return g.uses[r][node] > 0
}

func (g *Graph) pvReachesLocked(node, pv string) bool {
	e, ok := g.pvs[pv]
	return ok && g.uses[e.claim][node] > 0
}

// SetPod records (or updates) a pod: a bound pod relates its node to
// what it uses; an unbound one to nothing.
func (g *Graph) SetPod(p *corev1.Pod) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.setPodLocked(p)
}

func (g *Graph) setPodLocked(p *corev1.Pod) {
	key := ref{KindPod, p.Namespace, p.Name}
	g.removePodLocked(key)
	if p.Spec.NodeName == "" {
		return
	}
	e := podEntry{node: p.Spec.NodeName, refs: podRefs(p)}
	g.pods[key] = e
	for _, r := range e.refs {
		m := g.uses[r]
		if m == nil {
			m = map[string]int{}
			g.uses[r] = m
		}
		m[e.node]++
	}
}

// DeletePod forgets a pod.
func (g *Graph) DeletePod(namespace, name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.removePodLocked(ref{KindPod, namespace, name})
}

func (g *Graph) removePodLocked(key ref) {
	e, ok := g.pods[key]
	if !ok {
		return
	}
	delete(g.pods, key)
	for _, r := range e.refs {
		if m := g.uses[r]; m != nil {
			if m[e.node]--; m[e.node] <= 0 {
				delete(m, e.node)
			}
			if len(m) == 0 {
				delete(g.uses, r)
			}
		}
	}
}

// SetPV records (or updates) a persistent volume: with a claimRef it
// relates its claim's pods' nodes to it and to the secrets its source
// hands the kubelet.
func (g *Graph) SetPV(pv *corev1.PersistentVolume) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.setPVLocked(pv)
}

func (g *Graph) setPVLocked(pv *corev1.PersistentVolume) {
	g.removePVLocked(pv.Name)
	c := pv.Spec.ClaimRef
	if c == nil {
		return
	}
	e := pvEntry{claim: ref{KindPVC, c.Namespace, c.Name}, secrets: pvSecrets(pv)}
	g.pvs[pv.Name] = e
	for _, s := range e.secrets {
		m := g.pvSecrets[s]
		if m == nil {
			m = map[string]bool{}
			g.pvSecrets[s] = m
		}
		m[pv.Name] = true
	}
}

// DeletePV forgets a persistent volume.
func (g *Graph) DeletePV(name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.removePVLocked(name)
}

func (g *Graph) removePVLocked(name string) {
	e, ok := g.pvs[name]
	if !ok {
		return
	}
	delete(g.pvs, name)
	for _, s := range e.secrets {
		if m := g.pvSecrets[s]; m != nil {
			delete(m, name)
			if len(m) == 0 {
				delete(g.pvSecrets, s)
			}
		}
	}
}

// SetOnNode ties a cluster-scoped (namespace "") or namespaced object of
// kind to node; node "" unties it. Volume attachments, resource slices
// and pod certificate requests are related to nodes this way.
func (g *Graph) SetOnNode(kind, namespace, name, node string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := ref{kind, namespace, name}
	if node == "" {
		delete(g.onNode, r)
		return
	}
	g.onNode[r] = node
}

// ResetPods replaces every pod with pods, in one step, after a feed
// relisted.
func (g *Graph) ResetPods(pods []*corev1.Pod) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pods, g.uses = map[ref]podEntry{}, map[ref]map[string]int{}
	for _, p := range pods {
		g.setPodLocked(p)
	}
}

// ResetPVs replaces every persistent volume with pvs.
func (g *Graph) ResetPVs(pvs []*corev1.PersistentVolume) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pvs, g.pvSecrets = map[string]pvEntry{}, map[ref]map[string]bool{}
	for _, pv := range pvs {
		g.setPVLocked(pv)
	}
}

// OnNode is one object tied to a node, for ResetOnNode.
type OnNode struct{ Namespace, Name, Node string }

// ResetOnNode replaces every object of kind tied to a node with objs.
func (g *Graph) ResetOnNode(kind string, objs []OnNode) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for r := range g.onNode {
		if r.kind == kind {
			delete(g.onNode, r)
		}
	}
	for _, o := range objs {
		if o.Node != "" {
			g.onNode[ref{kind, o.Namespace, o.Name}] = o.Node
		}
	}
}
