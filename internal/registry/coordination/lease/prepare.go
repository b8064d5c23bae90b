package lease

import coordinationv1 "k8s.io/api/coordination/v1"

// Coordinated leader election (spec.strategy and spec.preferredHolder)
// is a beta feature that is off by default in 1.37, so, as upstream, the
// fields are dropped on create, and on update unless the stored lease
// already used them.

// PrepareForCreate drops the coordinated-election fields.
func PrepareForCreate(l *coordinationv1.Lease) {
	l.Spec.Strategy = nil
	l.Spec.PreferredHolder = nil
}

// PrepareForUpdate drops them unless old had them.
func PrepareForUpdate(l, old *coordinationv1.Lease) {
	if old.Spec.Strategy == nil {
		l.Spec.Strategy = nil
	}
	if old.Spec.PreferredHolder == nil {
		l.Spec.PreferredHolder = nil
	}
}
