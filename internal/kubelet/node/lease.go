package node

import (
	"context"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// leaseNamespace holds one Lease per node, renewed as its heartbeat.
const leaseNamespace = "kube-node-lease"

func (a *Agent) leaseLoop(ctx context.Context) {
	t := time.NewTicker(a.cfg.LeaseInterval)
	defer t.Stop()
	for {
		if err := a.renewLease(ctx); err != nil && ctx.Err() == nil {
			a.cfg.Log.Warn("renew node lease", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (a *Agent) renewLease(ctx context.Context) error {
	leases := a.cfg.Client.CoordinationV1().Leases(leaseNamespace)
	now := metav1.NewMicroTime(time.Now())
	l, err := leases.Get(ctx, a.cfg.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		l = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: a.cfg.Name, Namespace: leaseNamespace},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity:       ptr.To(a.cfg.Name),
				LeaseDurationSeconds: ptr.To(a.cfg.LeaseDuration),
				RenewTime:            &now,
			},
		}
		if n := a.Node(); n != nil {
			l.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: n.Name, UID: n.UID}}
		}
		if _, err := leases.Create(ctx, l, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create lease %s: %w", a.cfg.Name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("get lease %s: %w", a.cfg.Name, err)
	}
	l = l.DeepCopy()
	l.Spec.HolderIdentity = ptr.To(a.cfg.Name)
	l.Spec.LeaseDurationSeconds = ptr.To(a.cfg.LeaseDuration)
	l.Spec.RenewTime = &now
	if len(l.OwnerReferences) == 0 {
		if n := a.Node(); n != nil {
			l.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: n.Name, UID: n.UID}}
		}
	}
	if _, err := leases.Update(ctx, l, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("renew lease %s: %w", a.cfg.Name, err)
	}
	return nil
}
