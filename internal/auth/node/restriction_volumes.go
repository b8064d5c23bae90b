package node

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	storagehelpers "k8s.io/component-helpers/storage/volume"

	"github.com/kemudi/kemudi/internal/auth"
)

// localPathProvisioner is kemudi's default class's provisioner, which
// every agent runs with its node's identity.
const localPathProvisioner = "kemudi.io/local-path"

// admitPV admits a node's write of a PersistentVolume only for the local
// volumes of its own that its local-path provisioner makes, grows and
// deletes: provisioned by kemudi.io/local-path, their node affinity
// requiring the node's hostname label and no other. Upstream's nodes
// write no volumes (its provisioners are pods with accounts of their
// own); the RBAC that lets kemudi's nodes do it is this narrow.
func (p Restriction) admitPV(ctx context.Context, node string, r *auth.AdmissionRequest) error {
	return p.admitWritten(ctx, node, r, func(obj runtime.Object, hostname string) error {
		pv, ok := obj.(*corev1.PersistentVolume)
		if !ok {
			return fmt.Errorf("unexpected type %T", obj)
		}
		if pv.Annotations[storagehelpers.AnnDynamicallyProvisioned] != localPathProvisioner || affinityHostname(pv) != hostname {
			return fmt.Errorf("node %q may only write %s volumes whose node affinity names its hostname %q alone", node, localPathProvisioner, hostname)
		}
		return nil
	})
}

// admitWritten admits a create, update or delete when check passes for
// every object it touches (written), given the node's hostname label.
func (p Restriction) admitWritten(ctx context.Context, node string, r *auth.AdmissionRequest, check func(obj runtime.Object, hostname string) error) error {
	objs := written(r)
	if len(objs) == 0 {
		return nil
	}
	hostname, err := p.nodeHostname(ctx, r, node)
	if err != nil {
		return err
	}
	for _, obj := range objs {
		if err := check(obj, hostname); err != nil {
			return forbidden(r, err)
		}
	}
	return nil
}

// written are the objects a write touches: the new one on create, the
// old one on delete, both on update.
func written(r *auth.AdmissionRequest) []runtime.Object {
	switch r.Operation {
	case auth.Create:
		return []runtime.Object{r.Object}
	case auth.Update:
		return []runtime.Object{r.Old, r.Object}
	case auth.Delete:
		return []runtime.Object{r.Old}
	}
	return nil
}

// nodeHostname is the node's hostname label (its name without one), as
// the local-path provisioner names it in volumes' node affinity.
func (p Restriction) nodeHostname(ctx context.Context, r *auth.AdmissionRequest, node string) (string, error) {
	if p.Nodes == nil {
		return "", forbidden(r, fmt.Errorf("error looking up node %s: no node lister", node))
	}
	n, err := p.Nodes.Get(ctx, "", node)
	if apierrors.IsNotFound(err) {
		return "", forbidden(r, fmt.Errorf("node %s is not registered", node))
	}
	if err != nil {
		return "", forbidden(r, fmt.Errorf("error looking up node %s: %v", node, err))
	}
	if h := n.Labels[corev1.LabelHostname]; h != "" {
		return h, nil
	}
	return n.Name, nil
}

// affinityHostname is the one hostname a volume's required node
// affinity names ("" for none, several, or other kinds of terms).
func affinityHostname(pv *corev1.PersistentVolume) string {
	a := pv.Spec.NodeAffinity
	if a == nil || a.Required == nil {
		return ""
	}
	found := ""
	for _, term := range a.Required.NodeSelectorTerms {
		if len(term.MatchFields) > 0 {
			return ""
		}
		for _, e := range term.MatchExpressions {
			if e.Key != corev1.LabelHostname || e.Operator != corev1.NodeSelectorOpIn || len(e.Values) != 1 ||
				(found != "" && found != e.Values[0]) {
				return ""
			}
			found = e.Values[0]
		}
	}
	return found
}
