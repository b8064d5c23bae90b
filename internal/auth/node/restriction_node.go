package node

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/kemudi/kemudi/internal/auth"
)

// admitNode admits a node's writes of its own Node only: created without
// a config source or labels it may not set, and updated without changing
// its taints, owners or such labels.
func admitNode(node string, r *auth.AdmissionRequest) error {
	if r.Name != node {
		return forbidden(r, fmt.Errorf("node %q is not allowed to modify node %q", node, r.Name))
	}
	switch r.Operation {
	case auth.Create:
		n, ok := r.Object.(*corev1.Node)
		if !ok {
			return forbidden(r, fmt.Errorf("unexpected type %T", r.Object))
		}
		if n.Spec.ConfigSource != nil {
			return forbidden(r, fmt.Errorf("node %q is not allowed to create pods with a non-nil configSource", node))
		}
		if bad := forbiddenLabels(n.Labels, nil); len(bad) > 0 {
			return forbidden(r, fmt.Errorf("node %q is not allowed to set the following labels: %s", node, strings.Join(bad, ", ")))
		}
	case auth.Update:
		n, ok := r.Object.(*corev1.Node)
		if !ok {
			return forbidden(r, fmt.Errorf("unexpected type %T", r.Object))
		}
		old, ok := r.Old.(*corev1.Node)
		if !ok {
			return forbidden(r, fmt.Errorf("unexpected type %T", r.Object))
		}
		switch {
		case n.Spec.ConfigSource != nil && !equality.Semantic.DeepEqual(n.Spec.ConfigSource, old.Spec.ConfigSource):
			return forbidden(r, fmt.Errorf("node %q is not allowed to update configSource to a new non-nil configSource", node))
		case !equality.Semantic.DeepEqual(n.Spec.Taints, old.Spec.Taints):
			return forbidden(r, fmt.Errorf("node %q is not allowed to modify taints", node))
		case !equality.Semantic.DeepEqual(n.OwnerReferences, old.OwnerReferences):
			return forbidden(r, fmt.Errorf("node %q is not allowed to modify ownerReferences", node))
		}
		if bad := forbiddenLabels(n.Labels, old.Labels); len(bad) > 0 {
			// Upstream's message names no node here.
			return forbidden(r, fmt.Errorf("is not allowed to modify labels: %s", strings.Join(bad, ", ")))
		}
	}
	return nil
}

// forbiddenLabels are the labels that differ between labels and old
// (added, changed or removed) that a node may not set on itself: those
// under node-restriction.kubernetes.io/, and those under kubernetes.io/
// or k8s.io/ but the kubelet's own, sorted.
func forbiddenLabels(labels, old map[string]string) []string {
	var bad []string
	check := func(k string) {
		ns := labelNamespace(k)
		restricted := ns == corev1.LabelNamespaceNodeRestriction || strings.HasSuffix(ns, "."+corev1.LabelNamespaceNodeRestriction)
		if restricted || isKubernetesLabel(ns) && !isKubeletLabel(k) {
			bad = append(bad, k)
		}
	}
	for k, v := range labels {
		if ov, had := old[k]; !had || ov != v {
			check(k)
		}
	}
	for k := range old {
		if _, kept := labels[k]; !kept {
			check(k)
		}
	}
	sort.Strings(bad)
	return bad
}

func labelNamespace(key string) string {
	if ns, _, ok := strings.Cut(key, "/"); ok {
		return ns
	}
	return ""
}

func isKubernetesLabel(ns string) bool {
	return ns == "kubernetes.io" || strings.HasSuffix(ns, ".kubernetes.io") ||
		ns == "k8s.io" || strings.HasSuffix(ns, ".k8s.io")
}

// kubeletLabels are the kubernetes.io labels a kubelet sets on its own
// Node (k8s.io/kubelet's well-known labels).
var kubeletLabels = map[string]bool{
	corev1.LabelHostname:                true,
	corev1.LabelTopologyZone:            true,
	corev1.LabelTopologyRegion:          true,
	corev1.LabelFailureDomainBetaZone:   true,
	corev1.LabelFailureDomainBetaRegion: true,
	corev1.LabelInstanceType:            true,
	corev1.LabelInstanceTypeStable:      true,
	corev1.LabelOSStable:                true,
	corev1.LabelArchStable:              true,
	"beta.kubernetes.io/os":             true,
	"beta.kubernetes.io/arch":           true,
}

// isKubeletLabel: one of kubeletLabels, or under kubelet.kubernetes.io/
// or node.kubernetes.io/ (or a subdomain of them).
func isKubeletLabel(key string) bool {
	if kubeletLabels[key] {
		return true
	}
	ns := labelNamespace(key)
	for _, allowed := range []string{corev1.LabelNamespaceSuffixKubelet, corev1.LabelNamespaceSuffixNode} {
		if ns == allowed || strings.HasSuffix(ns, "."+allowed) {
			return true
		}
	}
	return false
}
