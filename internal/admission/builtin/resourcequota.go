package builtin

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kemudi/kemudi/internal/auth"
	"github.com/kemudi/kemudi/internal/quota"
)

// ResourceQuota is upstream's ResourceQuota admission for a create (and
// for a pod's in-place resize, with what it adds, and a pod's update
// into another Terminating scope): the new object must fit in every
// quota of its namespace that covers it,
// checked against the quotas' status; the quotas' status.used is then
// charged with a compare-and-swap, so that concurrent creates cannot
// overrun a quota together. The resourcequota controller recomputes the
// true usage (deletions, and charges for creates that failed after
// admission).
type ResourceQuota struct {
	Quotas QuotaStore
	// Now is the clock for the usage of time-bound objects (time.Now
	// when nil).
	Now func() time.Time
}

// QuotaStore is what ResourceQuota reads and charges.
type QuotaStore interface {
	Reader[*corev1.ResourceQuota]
	Updater[*corev1.ResourceQuota]
}

// Admit implements auth.Admission.
func (p ResourceQuota) Admit(ctx context.Context, r *auth.AdmissionRequest) error {
	// Subresource actions (pods/eviction, pods/binding,
	// serviceaccounts/token) create nothing to charge, as upstream's
	// quota admission ignores them.
	resize := r.Operation == auth.Update && r.Subresource == "resize" && r.APIGroup == "" && r.Resource == "pods"
	rescoped := scopeChangingUpdate(r)
	if (r.Operation != auth.Create || r.Subresource != "") && !resize && !rescoped || !r.Namespaced || r.Object == nil {
		return nil
	}
	quotas, err := p.Quotas.List(ctx, r.Namespace)
	if err != nil || len(quotas) == 0 {
		return err
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	obj := r.Object
	gr := schema.GroupResource{Group: r.APIGroup, Resource: r.Resource}
	usage := quota.Usage(gr, obj, now())
	if resize {
		// A resize is charged what it adds; what it gives back is
		// returned by the controller's recount, as upstream.
		usage = quota.Growth(usage, quota.Usage(gr, r.Old, now()))
	}
	forbidden := func(err error) error {
		return apierrors.NewForbidden(gr, r.Name, err)
	}
	var charge []*corev1.ResourceQuota
	for _, q := range quotas {
		if rescoped && quota.MatchesScopes(q, gr, r.Old) {
			continue // charged for the pod already
		}
		used, err := quota.Admit(q, gr, obj, usage)
		if err != nil {
			return forbidden(err)
		}
		if used != nil {
			charge = append(charge, q)
		}
	}
	if r.DryRun {
		return nil
	}
	for _, q := range charge {
		var refused error
		err := p.Quotas.Update(ctx, q.Namespace, q.Name, func(cur *corev1.ResourceQuota) (*corev1.ResourceQuota, error) {
			// The store tries again on etcd's state after a refusal of a
			// cached one: only the last try's refusal counts.
			refused = nil
			used, err := quota.Admit(cur, gr, obj, usage)
			if err != nil {
				refused = err
				return nil, err
			}
			if used == nil {
				return cur, nil
			}
			// cur is the store's copy, ours to change.
			cur.Status.Used = used
			return cur, nil
		})
		if refused != nil {
			return forbidden(refused)
		}
		if err != nil && !apierrors.IsNotFound(err) && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return nil
}

// scopeChangingUpdate: an update of a pod that moves it between the
// Terminating and NotTerminating scopes, charged to the quotas that
// cover it only now (what it leaves, the controller's recount returns).
func scopeChangingUpdate(r *auth.AdmissionRequest) bool {
	if r.Operation != auth.Update || r.Subresource != "" || r.APIGroup != "" || r.Resource != "pods" {
		return false
	}
	pod, ok := r.Object.(*corev1.Pod)
	old, okOld := r.Old.(*corev1.Pod)
	return ok && okOld && quota.TerminatingChanged(old, pod)
}
