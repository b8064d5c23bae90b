package node

import (
	"context"
	"fmt"
	"sort"
	"strings"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kemudi/kemudi/internal/auth"
)

// mirrorAnnotation marks a static pod's mirror, the only pod a node creates.
const mirrorAnnotation = corev1.MirrorPodAnnotationKey

// restrictedLabelPrefix is the label namespace no node may set on itself.
const restrictedLabelPrefix = "node-restriction.kubernetes.io/"

// Restriction is upstream's NodeRestriction admission plugin: a node
// creates only mirror pods bound to itself, deletes and updates the status
// of its own pods only, creates and changes only its own Node (without
// node-restriction.kubernetes.io/ labels) and only its own Lease.
type Restriction struct{}

// Admit implements auth.Admission.
func (Restriction) Admit(_ context.Context, r *auth.AdmissionRequest) error {
	node, ok := NodeName(r.User)
	// Upstream's plugin handles creates, updates and deletes only: a
	// node's CONNECT (nodes/proxy of another node) is the authorizer's.
	if !ok || r.Operation == auth.Connect || r.APIGroup != "" && r.APIGroup != coordinationv1.GroupName {
		return nil
	}
	gr := schema.GroupResource{Group: r.APIGroup, Resource: r.Resource}
	forbid := func(format string, args ...any) error {
		return apierrors.NewForbidden(gr, r.Name, fmt.Errorf(format, args...))
	}
	switch {
	case r.APIGroup == "" && r.Resource == "pods":
		return admitPod(node, r, forbid)
	case r.APIGroup == "" && r.Resource == "nodes":
		return admitNode(node, r, forbid)
	case r.APIGroup == coordinationv1.GroupName && r.Resource == "leases" && r.Namespace == corev1.NamespaceNodeLease:
		if r.Name != node {
			return forbid("can only access node lease with the same name as the requesting node")
		}
	}
	return nil
}

func admitPod(node string, r *auth.AdmissionRequest, forbid func(string, ...any) error) error {
	switch r.Operation {
	case auth.Create:
		p, ok := r.Object.(*corev1.Pod)
		if !ok || r.Subresource != "" {
			return nil
		}
		if _, mirror := p.Annotations[mirrorAnnotation]; !mirror {
			return forbid("pod does not have %q annotation, node %q can only create mirror pods", mirrorAnnotation, node)
		}
		if p.Spec.NodeName != node {
			return forbid("node %q can only create pods with spec.nodeName set to itself", node)
		}
	case auth.Update:
		old, ok := r.Old.(*corev1.Pod)
		if !ok {
			return nil
		}
		if r.Subresource != "status" {
			return forbid("node %q can only update pod status", node)
		}
		if old.Spec.NodeName != node {
			return forbid("node %q can only update pod status for pods with spec.nodeName set to itself", node)
		}
	case auth.Delete:
		old, ok := r.Old.(*corev1.Pod)
		if ok && old.Spec.NodeName != node {
			return forbid("node %q can only delete pods with spec.nodeName set to itself", node)
		}
	}
	return nil
}

func admitNode(node string, r *auth.AdmissionRequest, forbid func(string, ...any) error) error {
	if r.Name != node {
		return forbid("node %q is not allowed to modify node %q", node, r.Name)
	}
	obj, _ := r.Object.(*corev1.Node)
	old, _ := r.Old.(*corev1.Node)
	switch r.Operation {
	case auth.Create:
		if bad := restrictedLabels(obj.Labels, nil); len(bad) > 0 {
			return forbid("node %q is not allowed to set the following labels: %s", node, strings.Join(bad, ", "))
		}
	case auth.Update:
		if obj == nil || old == nil {
			return nil
		}
		if bad := restrictedLabels(obj.Labels, old.Labels); len(bad) > 0 {
			return forbid("node %q is not allowed to modify labels: %s", node, strings.Join(bad, ", "))
		}
	}
	return nil
}

// restrictedLabels are the node-restriction.kubernetes.io/ labels that
// differ between labels and old (added, changed or removed).
func restrictedLabels(labels, old map[string]string) []string {
	var bad []string
	for k, v := range labels {
		if ov, had := old[k]; strings.HasPrefix(k, restrictedLabelPrefix) && (!had || ov != v) {
			bad = append(bad, k)
		}
	}
	for k := range old {
		if _, kept := labels[k]; !kept && strings.HasPrefix(k, restrictedLabelPrefix) {
			bad = append(bad, k)
		}
	}
	sort.Strings(bad)
	return bad
}
