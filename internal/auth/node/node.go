// Package node authorizes kubelets as upstream's Node authorizer: users
// named system:node:<name> in the system:nodes group read the secrets,
// config maps, claims, volumes and service accounts of the pods bound to
// them (a Graph of what leads to each node), their own Node, Lease and
// CSINode, the volume attachments and resource slices on them, and
// otherwise what upstream's system:node cluster role allows. The
// NodeRestriction admission plugin (restriction.go) checks the writes the
// authorizer lets through without knowing the object.
package node

import (
	"context"
	"fmt"
	"strings"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"

	"github.com/kemudi/kemudi/internal/auth"
	"github.com/kemudi/kemudi/internal/auth/rbac"
)

// Group and UserPrefix identify a kubelet.
const (
	Group      = "system:nodes"
	UserPrefix = "system:node:"
	// RoleName is the cluster role whose rules nodes get for what the
	// authorizer does not decide itself.
	RoleName = "system:node"
)

// IsNode reports whether u is a node (a system:node:<name> user in
// system:nodes), and its name, "" when the name is missing.
func IsNode(u *auth.User) (name string, isNode bool) {
	if u == nil || !strings.HasPrefix(u.Name, UserPrefix) || !u.InGroup(Group) {
		return "", false
	}
	return strings.TrimPrefix(u.Name, UserPrefix), true
}

// NodeName returns the node a user is, or false when it is not a node
// or names none.
func NodeName(u *auth.User) (string, bool) {
	name, ok := IsNode(u)
	return name, ok && name != ""
}

// Authorizer is the Node authorization mode.
type Authorizer struct {
	Index *rbac.Index
	// Graph relates nodes to what their pods use.
	Graph *Graph
	// Fresh, when set, waits until Graph holds the store's newest state
	// (Feed's fresh). A request the graph finds no path for is decided
	// again after it: the kubelet asks for a pod's token and secrets the
	// moment its watch shows the pod bound, which the graph's own watch
	// may not have applied yet.
	Fresh func(context.Context) bool
}

// freshWait bounds the wait for the graph; it normally takes a moment.
const freshWait = 2 * time.Second

// The resources the authorizer decides itself, as upstream subdivides.
var (
	secrets                = corev1.Resource("secrets")
	configMaps             = corev1.Resource("configmaps")
	pods                   = corev1.Resource("pods")
	nodes                  = corev1.Resource("nodes")
	pvcs                   = corev1.Resource("persistentvolumeclaims")
	pvs                    = corev1.Resource("persistentvolumes")
	serviceAccounts        = corev1.Resource("serviceaccounts")
	resourceClaims         = resourcev1.Resource("resourceclaims")
	resourceSlices         = resourcev1.Resource("resourceslices")
	volumeAttachments      = storagev1.Resource("volumeattachments")
	csiNodes               = storagev1.Resource("csinodes")
	leases                 = coordinationv1.Resource("leases")
	podCertificateRequests = certificatesv1.Resource("podcertificaterequests")
)

// Authorize implements auth.Authorizer: it has no opinion on anyone but
// nodes.
func (z Authorizer) Authorize(ctx context.Context, a auth.Attributes) (auth.Decision, string, error) {
	d, reason, err := z.decide(a)
	if d == auth.NoOpinion && z.Fresh != nil && reason == noRelationship(strings.TrimPrefix(a.User.Name, UserPrefix)) {
		ctx, cancel := context.WithTimeout(ctx, freshWait)
		defer cancel()
		if z.Fresh(ctx) {
			return z.decide(a)
		}
	}
	return d, reason, err
}

func (z Authorizer) decide(a auth.Attributes) (auth.Decision, string, error) {
	node, isNode := IsNode(a.User)
	if !isNode {
		return auth.NoOpinion, "", nil
	}
	if node == "" {
		return auth.NoOpinion, fmt.Sprintf("unknown node for user %q", a.User.Name), nil
	}
	if a.ResourceRequest {
		switch (schema.GroupResource{Group: a.APIGroup, Resource: a.Resource}) {
		case secrets:
			return z.readNamespaced(node, KindSecret, a)
		case configMaps:
			return z.readNamespaced(node, KindConfigMap, a)
		case pvcs:
			if a.Subresource == "status" {
				return z.statusUpdate(node, KindPVC, a)
			}
			return z.get(node, KindPVC, a)
		case pvs:
			return z.get(node, KindPV, a)
		case resourceClaims:
			return z.get(node, KindResourceClaim, a)
		case volumeAttachments:
			return z.get(node, KindVolumeAttachment, a)
		case serviceAccounts:
			return z.serviceAccount(node, a)
		case leases:
			return lease(node, a)
		case csiNodes:
			return csiNode(node, a)
		case resourceSlices:
			return z.resourceSlice(node, a)
		case nodes:
			return ownNode(node, a)
		case pods:
			return z.pod(node, a)
		case podCertificateRequests:
			return z.podCertificateRequest(node, a)
		}
	}
	role, ok := z.Index.ClusterRole(RoleName)
	if ok && rbac.RulesAllow(role.Rules, &a) {
		return auth.Allow, "", nil
	}
	return auth.NoOpinion, "", nil
}

// related allows a request for one object a path leads from to the node.
func (z Authorizer) related(node, kind string, a auth.Attributes) (auth.Decision, string, error) {
	if a.Name == "" {
		return auth.NoOpinion, "No Object name found", nil
	}
	if z.Graph != nil && z.Graph.HasPath(node, kind, a.Namespace, a.Name) {
		return auth.Allow, "", nil
	}
	return auth.NoOpinion, noRelationship(node), nil
}

func noRelationship(node string) string {
	return fmt.Sprintf("no relationship found between node '%s' and this object", node)
}

// get allows getting one related object.
func (z Authorizer) get(node, kind string, a auth.Attributes) (auth.Decision, string, error) {
	if a.Verb != "get" {
		return auth.NoOpinion, "can only get individual resources of this type", nil
	}
	if a.Subresource != "" {
		return auth.NoOpinion, "cannot get subresource", nil
	}
	return z.related(node, kind, a)
}

// readNamespaced allows get, list and watch of one related object (the
// kubelet watches a secret by metadata.name).
func (z Authorizer) readNamespaced(node, kind string, a auth.Attributes) (auth.Decision, string, error) {
	switch a.Verb {
	case "get", "list", "watch":
	default:
		return auth.NoOpinion, "can only read resources of this type", nil
	}
	if a.Subresource != "" {
		return auth.NoOpinion, "cannot read subresource", nil
	}
	if a.Namespace == "" {
		return auth.NoOpinion, "can only read namespaced object of this type", nil
	}
	return z.related(node, kind, a)
}

// statusUpdate allows updating the status of a related object.
func (z Authorizer) statusUpdate(node, kind string, a auth.Attributes) (auth.Decision, string, error) {
	switch a.Verb {
	case "update", "patch":
	default:
		return auth.NoOpinion, "can only get/update/patch this type", nil
	}
	return z.related(node, kind, a)
}

// serviceAccount allows getting a related account and creating tokens
// for it (NodeRestriction then requires them bound to a pod of the node).
func (z Authorizer) serviceAccount(node string, a auth.Attributes) (auth.Decision, string, error) {
	if a.Verb == "get" && a.Subresource == "" {
		// Upstream's KubeletServiceAccountTokenForCredentialProviders
		// (beta, on) lets a node read the accounts of its pods.
		return z.readNamespaced(node, KindServiceAccount, a)
	}
	if a.Verb != "create" || a.Name == "" {
		return auth.NoOpinion, "can only create tokens for individual service accounts", nil
	}
	if a.Subresource != "token" {
		return auth.NoOpinion, "can only create token subresource of serviceaccount", nil
	}
	return z.related(node, KindServiceAccount, a)
}

// lease allows a node its own lease in kube-node-lease; a create's name
// is NodeRestriction's to check.
func lease(node string, a auth.Attributes) (auth.Decision, string, error) {
	switch a.Verb {
	case "get", "create", "update", "patch", "delete":
	default:
		return auth.NoOpinion, "can only get, create, update, patch, or delete a node lease", nil
	}
	if a.Namespace != corev1.NamespaceNodeLease {
		return auth.NoOpinion, fmt.Sprintf("can only access leases in the %q system namespace", corev1.NamespaceNodeLease), nil
	}
	if a.Verb != "create" && a.Name != node {
		return auth.NoOpinion, "can only access node lease with the same name as the requesting node", nil
	}
	return auth.Allow, "", nil
}

// csiNode allows a node its own CSINode; a create's name is
// NodeRestriction's to check. Its status (upstream's alpha
// CSIVolumeHealth, off) is not the node's.
func csiNode(node string, a auth.Attributes) (auth.Decision, string, error) {
	switch a.Subresource {
	case "":
		switch a.Verb {
		case "get", "create", "update", "patch", "delete":
		default:
			return auth.NoOpinion, "can only get, create, update, patch, or delete a CSINode", nil
		}
	case "status":
		return auth.NoOpinion, "CSINode status access requires CSIVolumeHealth feature", nil
	default:
		return auth.NoOpinion, "cannot authorize CSINode subresources", nil
	}
	if a.Verb != "create" && a.Name != node {
		return auth.NoOpinion, "can only access CSINode with the same name as the requesting node", nil
	}
	return auth.Allow, "", nil
}

// resourceSlice allows a node the slices of its own devices: those whose
// spec.nodeName it is, and lists scoped to them.
func (z Authorizer) resourceSlice(node string, a auth.Attributes) (auth.Decision, string, error) {
	if a.Subresource != "" {
		return auth.NoOpinion, "cannot authorize ResourceSlice subresources", nil
	}
	switch a.Verb {
	case "create":
		// The new slice's nodeName is NodeRestriction's to check.
		return auth.Allow, "", nil
	case "get", "update", "patch", "delete":
		return z.related(node, KindResourceSlice, a)
	case "watch", "list", "deletecollection":
		if selectsField(a, resourcev1.ResourceSliceSelectorNodeName, node) {
			return auth.Allow, "", nil
		}
		return auth.NoOpinion, "can only list/watch/deletecollection resourceslices with nodeName field selector", nil
	}
	return auth.NoOpinion, "only the following verbs are allowed for a ResourceSlice: get, watch, list, create, update, patch, delete, deletecollection", nil
}

// selectsField reports whether a's field selector requires field=value.
func selectsField(a auth.Attributes, field, value string) bool {
	for _, r := range a.FieldSelector {
		if r.Field == field && (r.Operator == selection.Equals || r.Operator == selection.DoubleEquals) && r.Value == value {
			return true
		}
	}
	return false
}

// ownNode allows a node to read its own Node and to create and update
// Nodes (NodeRestriction keeps it to its own).
func ownNode(node string, a auth.Attributes) (auth.Decision, string, error) {
	switch a.Subresource {
	case "":
		switch a.Verb {
		case "create", "update", "patch":
			return auth.Allow, "", nil
		case "get", "list", "watch":
			switch a.Name {
			case node:
				return auth.Allow, "", nil
			case "":
				return auth.NoOpinion, fmt.Sprintf("node '%s' cannot read all nodes, only its own Node object", node), nil
			default:
				return auth.NoOpinion, fmt.Sprintf("node '%s' cannot read '%s', only its own Node object", node, a.Name), nil
			}
		}
	case "status":
		switch a.Verb {
		case "update", "patch":
			return auth.Allow, "", nil
		}
	}
	return auth.NoOpinion, "", nil
}

// pod allows a node to read its pods (one by name, or a list scoped to
// spec.nodeName), to create and delete mirror pods, update its pods'
// status and evict its pods (NodeRestriction checks which pods).
func (z Authorizer) pod(node string, a auth.Attributes) (auth.Decision, string, error) {
	switch a.Subresource {
	case "":
		switch a.Verb {
		case "get":
			return z.get(node, KindPod, a)
		case "list", "watch":
			if selectsField(a, "spec.nodeName", node) {
				return auth.Allow, "", nil
			}
			if a.Name != "" {
				return z.related(node, KindPod, a)
			}
			return auth.NoOpinion, "can only list/watch pods with spec.nodeName field selector", nil
		case "create", "delete":
			return auth.Allow, "", nil
		}
	case "status":
		switch a.Verb {
		case "update", "patch":
			return auth.Allow, "", nil
		}
	case "eviction":
		if a.Verb == "create" {
			return auth.Allow, "", nil
		}
	}
	return auth.NoOpinion, "", nil
}

// podCertificateRequest allows a node to create requests (NodeRestriction
// checks them) and read those on itself.
func (z Authorizer) podCertificateRequest(node string, a auth.Attributes) (auth.Decision, string, error) {
	if a.Subresource != "" {
		return auth.NoOpinion, "nodes may not access the status subresource of PodCertificateRequests", nil
	}
	switch a.Verb {
	case "create":
		return auth.Allow, "", nil
	case "get":
		return z.related(node, KindPodCertificateRequest, a)
	case "list", "watch":
		if selectsField(a, "spec.nodeName", node) {
			return auth.Allow, "", nil
		}
		return auth.NoOpinion, "can only list/watch podcertificaterequests with nodeName field selector", nil
	}
	return auth.NoOpinion, fmt.Sprintf("nodes may not %s podcertificaterequests", a.Verb), nil
}
