package node

import (
	"sync"

	corev1 "k8s.io/api/core/v1"
)

// Kinds of objects the graph relates to nodes.
const (
	KindPod            = "pods"
	KindSecret         = "secrets"
	KindConfigMap      = "configmaps"
	KindPVC            = "persistentvolumeclaims"
	KindServiceAccount = "serviceaccounts"
)

// ref is one object a pod uses.
type ref struct{ kind, namespace, name string }

// Graph relates nodes to what the pods bound to them use (secrets,
// config maps, claims, service accounts), as upstream's node authorizer
// graph does for those kinds: an edge exists while a pod bound to the
// node references the object.
type Graph struct {
	mu sync.RWMutex
	// pods are the references each bound pod holds, by namespace/name.
	pods map[string]podEntry
	// edges counts, for each object, the pods of each node that use it.
	edges map[ref]map[string]int
}

type podEntry struct {
	node string
	refs []ref
}

// NewGraph returns an empty graph.
func NewGraph() *Graph {
	return &Graph{pods: map[string]podEntry{}, edges: map[ref]map[string]int{}}
}

// HasEdge reports whether a pod bound to node uses the object.
func (g *Graph) HasEdge(node, kind, namespace, name string) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.edges[ref{kind, namespace, name}][node] > 0
}

// SetPod records (or updates) a pod.
func (g *Graph) SetPod(p *corev1.Pod) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.setLocked(p)
}

func (g *Graph) setLocked(p *corev1.Pod) {
	key := p.Namespace + "/" + p.Name
	g.removeLocked(key)
	if p.Spec.NodeName == "" {
		return
	}
	e := podEntry{node: p.Spec.NodeName, refs: PodRefs(p)}
	g.pods[key] = e
	for _, r := range e.refs {
		m := g.edges[r]
		if m == nil {
			m = map[string]int{}
			g.edges[r] = m
		}
		m[e.node]++
	}
}

// DeletePod forgets a pod.
func (g *Graph) DeletePod(p *corev1.Pod) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.removeLocked(p.Namespace + "/" + p.Name)
}

func (g *Graph) removeLocked(key string) {
	e, ok := g.pods[key]
	if !ok {
		return
	}
	delete(g.pods, key)
	for _, r := range e.refs {
		if m := g.edges[r]; m != nil {
			if m[e.node]--; m[e.node] <= 0 {
				delete(m, e.node)
			}
			if len(m) == 0 {
				delete(g.edges, r)
			}
		}
	}
}

// Reset replaces every pod with pods.
func (g *Graph) Reset(pods []*corev1.Pod) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pods, g.edges = map[string]podEntry{}, map[ref]map[string]int{}
	for _, p := range pods {
		g.setLocked(p)
	}
}

// PodRefs lists what a pod uses: itself, its service account, the secrets
// and config maps of its volumes, env and image pulls, and its claims.
func PodRefs(p *corev1.Pod) []ref {
	ns := p.Namespace
	seen := map[ref]bool{}
	var out []ref
	add := func(kind, name string) {
		r := ref{kind, ns, name}
		if name != "" && !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	add(KindPod, p.Name)
	sa := p.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	add(KindServiceAccount, sa)
	for _, s := range p.Spec.ImagePullSecrets {
		add(KindSecret, s.Name)
	}
	for _, v := range p.Spec.Volumes {
		switch {
		case v.Secret != nil:
			add(KindSecret, v.Secret.SecretName)
		case v.ConfigMap != nil:
			add(KindConfigMap, v.ConfigMap.Name)
		case v.PersistentVolumeClaim != nil:
			add(KindPVC, v.PersistentVolumeClaim.ClaimName)
		case v.Ephemeral != nil:
			add(KindPVC, p.Name+"-"+v.Name)
		case v.Projected != nil:
			for _, src := range v.Projected.Sources {
				if src.Secret != nil {
					add(KindSecret, src.Secret.Name)
				}
				if src.ConfigMap != nil {
					add(KindConfigMap, src.ConfigMap.Name)
				}
			}
		case v.CSI != nil && v.CSI.NodePublishSecretRef != nil:
			add(KindSecret, v.CSI.NodePublishSecretRef.Name)
		case v.ISCSI != nil && v.ISCSI.SecretRef != nil:
			add(KindSecret, v.ISCSI.SecretRef.Name)
		case v.RBD != nil && v.RBD.SecretRef != nil:
			add(KindSecret, v.RBD.SecretRef.Name)
		case v.CephFS != nil && v.CephFS.SecretRef != nil:
			add(KindSecret, v.CephFS.SecretRef.Name)
		case v.FlexVolume != nil && v.FlexVolume.SecretRef != nil:
			add(KindSecret, v.FlexVolume.SecretRef.Name)
		case v.AzureFile != nil:
			add(KindSecret, v.AzureFile.SecretName)
		}
	}
	containers := append(append([]corev1.Container(nil), p.Spec.InitContainers...), p.Spec.Containers...)
	for _, ec := range p.Spec.EphemeralContainers {
		containers = append(containers, corev1.Container{Env: ec.Env, EnvFrom: ec.EnvFrom})
	}
	for _, c := range containers {
		for _, e := range c.EnvFrom {
			if e.SecretRef != nil {
				add(KindSecret, e.SecretRef.Name)
			}
			if e.ConfigMapRef != nil {
				add(KindConfigMap, e.ConfigMapRef.Name)
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				continue
			}
			if e.ValueFrom.SecretKeyRef != nil {
				add(KindSecret, e.ValueFrom.SecretKeyRef.Name)
			}
			if e.ValueFrom.ConfigMapKeyRef != nil {
				add(KindConfigMap, e.ValueFrom.ConfigMapKeyRef.Name)
			}
		}
	}
	return out
}
