package simnode

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// retryAfter is how soon a failed heartbeat is tried again.
const retryAfter = time.Second

// nextHeartbeat renews one node's lease, reports its status when due,
// and schedules its next heartbeat. A killed or deleted node drops out
// of the queue (Revive puts it back).
func (s *Nodes) nextHeartbeat(ctx context.Context) bool {
	name, quit := s.heartbeats.Get()
	if quit {
		return false
	}
	defer s.heartbeats.Done(name)
	n := s.node(name)
	if n == nil {
		return true
	}
	n.acting.RLock()
	defer n.acting.RUnlock()
	if !n.live() {
		return true
	}
	now := time.Now()
	err := s.renewLease(ctx, n, now)
	if err == nil {
		err = s.reportStatusIfDue(ctx, n, now)
	}
	switch {
	case ctx.Err() != nil:
	case apierrors.IsNotFound(err):
		// The Node is gone (someone deleted it): the node stops, as
		// after Delete.
		n.mu.Lock()
		n.deleted = true
		n.mu.Unlock()
		s.log.Info("node deleted; stopping it", "node", name)
	case err != nil:
		s.log.Debug("heartbeat failed", "node", name, "err", err)
		s.heartbeats.AddAfter(name, retryAfter)
	default:
		s.heartbeats.AddAfter(name, s.opts.RenewInterval)
	}
	return true
}

// renewLease sets the lease's renewTime to now, from the copy the last
// renewal returned (this node is its only writer); when that copy is
// stale or the lease is gone, it reads or recreates it.
func (s *Nodes) renewLease(ctx context.Context, n *simNode, now time.Time) error {
	n.mu.Lock()
	lease := n.lease
	n.mu.Unlock()
	if lease == nil {
		return s.ensureLease(ctx, n, now)
	}
	l := lease.DeepCopy()
	l.Spec.RenewTime = &metav1.MicroTime{Time: now}
	got, err := s.client.CoordinationV1().Leases(LeaseNamespace).Update(ctx, l, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return s.ensureLease(ctx, n, now)
	}
	if err != nil {
		return fmt.Errorf("renew lease: %w", err)
	}
	n.mu.Lock()
	n.lease = got
	n.mu.Unlock()
	return nil
}

// ensureLease makes the node's lease exist, held by the node and renewed
// now, owned by the Node (so it goes with it).
func (s *Nodes) ensureLease(ctx context.Context, n *simNode, now time.Time) error {
	leases := s.client.CoordinationV1().Leases(LeaseNamespace)
	n.mu.Lock()
	want := s.newLease(n, now)
	n.mu.Unlock()
	got, err := leases.Get(ctx, n.name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		got, err = leases.Create(ctx, want, metav1.CreateOptions{})
	case err == nil:
		l := got.DeepCopy()
		l.Spec = want.Spec
		l.OwnerReferences = want.OwnerReferences
		got, err = leases.Update(ctx, l, metav1.UpdateOptions{})
	}
	if err != nil {
		if apierrors.IsNotFound(err) {
			// Our namespace vanished? Not the Node: say so plainly.
			return fmt.Errorf("lease %s/%s: %s", LeaseNamespace, n.name, err.Error())
		}
		return fmt.Errorf("lease %s/%s: %w", LeaseNamespace, n.name, err)
	}
	n.mu.Lock()
	n.lease = got
	n.mu.Unlock()
	return nil
}

// newLease is the node's lease as the kubelet writes it. n.mu is held.
func (s *Nodes) newLease(n *simNode, now time.Time) *coordinationv1.Lease {
	l := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: n.name, Namespace: LeaseNamespace},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity:       ptr.To(n.name),
			LeaseDurationSeconds: ptr.To(int32(s.opts.LeaseDuration / time.Second)),
			RenewTime:            &metav1.MicroTime{Time: now},
		},
	}
	if n.uid != "" {
		l.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: n.name, UID: n.uid}}
	}
	return l
}

// reportStatusIfDue reports the node's conditions when they changed or
// the status interval passed since the last report.
func (s *Nodes) reportStatusIfDue(ctx context.Context, n *simNode, now time.Time) error {
	n.mu.Lock()
	due := n.statusDue || now.Sub(n.lastStatus) >= s.opts.StatusInterval
	conds := nodeConditions(n.ready, metav1.NewTime(now), n.started, n.readySince)
	n.mu.Unlock()
	if !due {
		return nil
	}
	patch, err := json.Marshal(map[string]any{"status": map[string]any{"conditions": conds}})
	if err != nil {
		return fmt.Errorf("node status patch: %w", err)
	}
	got, err := s.client.CoreV1().Nodes().Patch(ctx, n.name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	if err != nil {
		if apierrors.IsNotFound(err) {
			return err
		}
		return fmt.Errorf("report node status: %w", err)
	}
	n.mu.Lock()
	n.statusDue = false
	n.lastStatus = now
	n.uid = got.UID
	n.allocatable = got.Status.Allocatable.DeepCopy()
	n.mu.Unlock()
	return nil
}

// statusPatch is a strategic merge patch setting the whole of st (the
// conditions merge by type, as the kubelet's patches do).
func statusPatch(st corev1.NodeStatus) ([]byte, error) {
	b, err := json.Marshal(map[string]any{"status": st})
	if err != nil {
		return nil, fmt.Errorf("node status patch: %w", err)
	}
	return b, nil
}
