package node

import (
	"context"
	"errors"
	"fmt"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kemudi/kemudi/internal/auth"
)

// Getter reads one stored object (namespace "" for a cluster-scoped one),
// or answers a NotFound API error.
type Getter[T any] interface {
	Get(ctx context.Context, namespace, name string) (T, error)
}

// Restriction is upstream's NodeRestriction admission plugin: it checks
// the writes of nodes that the Node authorizer allows without seeing the
// object. A node creates only mirror pods of its own, deletes, evicts and
// updates the status of its own pods only, changes only its own Node
// (not its taints, owners or restricted labels), Lease and CSINode, the
// status (nothing else) of claims (and their selected-node, if it names
// the node, away: kemudi's local-path provisioner runs as the node),
// the local-path volumes and published storage capacities of its own
// only, tokens only bound to its own pods,
// resource slices only of its own, and CSRs only for its own name.
type Restriction struct {
	// Pods and Nodes read the stored pods and nodes.
	Pods  Getter[*corev1.Pod]
	Nodes Getter[*corev1.Node]
	// Authorizer decides whether a node may request a token for an
	// audience its pod does not use (upstream's
	// ServiceAccountNodeAudienceRestriction, on by default); nil allows
	// every audience, as --authorization-mode=AlwaysAllow does.
	Authorizer auth.Authorizer
}

// Admit implements auth.Admission.
func (p Restriction) Admit(ctx context.Context, r *auth.AdmissionRequest) error {
	node, isNode := IsNode(r.User)
	// Upstream's plugin handles creates, updates and deletes only: a
	// node's CONNECT (nodes/proxy of another node) is the authorizer's.
	if !isNode || r.Operation == auth.Connect {
		return nil
	}
	if node == "" {
		return forbidden(r, fmt.Errorf("could not determine node from user %q", r.User.Name))
	}
	switch (schema.GroupResource{Group: r.APIGroup, Resource: r.Resource}) {
	case pods:
		switch r.Subresource {
		case "":
			return p.admitPod(ctx, node, r)
		case "status":
			return admitPodStatus(node, r)
		case "eviction":
			return p.admitEviction(ctx, node, r)
		}
		return forbidden(r, fmt.Errorf("unexpected pod subresource %q, only 'status' and 'eviction' are allowed", r.Subresource))
	case nodes:
		return admitNode(node, r)
	case pvcs:
		switch {
		case r.Subresource == "status":
			return admitPVCStatus(node, r)
		case r.Subresource == "" && unselectsNode(node, r):
			return nil
		}
		return forbidden(r, errors.New("may only update PVC status"))
	case pvs:
		return p.admitPV(ctx, node, r)
	case csiStorageCapacities:
		return p.admitCapacity(ctx, node, r)
	case serviceAccounts:
		return p.admitToken(ctx, node, r)
	case podCertificateRequests:
		// kemudi does not serve PodCertificateRequests; nothing to check.
		return nil
	case leases:
		if r.Namespace != corev1.NamespaceNodeLease {
			return forbidden(r, fmt.Errorf("can only access leases in the %q system namespace", corev1.NamespaceNodeLease))
		}
		return admitOwnName(node, r, "can only access node lease with the same name as the requesting node")
	case csiNodes:
		if err := admitOwnName(node, r, "can only access CSINode with the same name as the requesting node"); err != nil {
			return err
		}
		if r.Subresource == "status" {
			return forbidden(r, errors.New("CSIVolumeHealth feature gate is disabled"))
		}
		return nil
	case resourceSlices:
		return admitResourceSlice(node, r)
	case certificatesv1.Resource("certificatesigningrequests"):
		return admitCSR(node, r)
	}
	return nil
}

// forbidden is upstream's admission refusal: a 403 naming the object by
// the request's name, or by the new object's (or its generateName).
func forbidden(r *auth.AdmissionRequest, err error) error {
	if apierrors.IsForbidden(err) {
		return err
	}
	name := r.Name
	if name == "" {
		name = "Unknown"
		if r.Object != nil {
			m, merr := meta.Accessor(r.Object)
			switch {
			case merr != nil:
				name = "Unknown/errorGettingName"
			case m.GetName() != "":
				name = m.GetName()
			case m.GetGenerateName() != "":
				name = m.GetGenerateName()
			}
		}
	}
	return apierrors.NewForbidden(schema.GroupResource{Group: r.APIGroup, Resource: r.Resource}, name, err)
}

// admitOwnName admits a write of an object named after the node (its
// Lease, its CSINode): on create the new object's name (the request has
// none yet), else the request's.
func admitOwnName(node string, r *auth.AdmissionRequest, msg string) error {
	name := r.Name
	if r.Operation == auth.Create {
		m, err := meta.Accessor(r.Object)
		if err != nil {
			return forbidden(r, errors.New("unable to access the object name"))
		}
		name = m.GetName()
	}
	if name != node {
		return forbidden(r, errors.New(msg))
	}
	return nil
}

// admitResourceSlice admits creating and deleting only the node's own
// slices (the authorizer checks the others against the stored slice).
func admitResourceSlice(node string, r *auth.AdmissionRequest) error {
	var obj any
	var verb string
	switch r.Operation {
	case auth.Create:
		obj, verb = r.Object, "create"
	case auth.Delete:
		obj, verb = r.Old, "delete"
	default:
		return nil
	}
	s, ok := obj.(*resourcev1.ResourceSlice)
	if !ok {
		return forbidden(r, fmt.Errorf("unexpected type %T", obj))
	}
	if s.Spec.NodeName == nil || *s.Spec.NodeName != node {
		return forbidden(r, fmt.Errorf("can only %s ResourceSlice with the same NodeName as the requesting node", verb))
	}
	return nil
}
