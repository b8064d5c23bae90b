package namespace

import (
	corev1 "k8s.io/api/core/v1"
)

// Default labels a namespace with its own name (kubernetes.io/metadata.name,
// which namespace selectors rely on) and defaults an empty phase to Active.
// A namespace created with generateName has no name yet when this runs;
// PrepareForCreate labels it again.
func Default(ns *corev1.Namespace) {
	SetNameLabel(ns)
	if ns.Status.Phase == "" {
		ns.Status.Phase = corev1.NamespaceActive
	}
}

// SetNameLabel sets the kubernetes.io/metadata.name label to the
// namespace's name, overwriting whatever a client put there. It does
// nothing while the name is still unknown (generateName). The API server
// should call it again if it fills in a generated name after the hooks ran.
func SetNameLabel(ns *corev1.Namespace) {
	if ns.Name == "" {
		return
	}
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	ns.Labels[corev1.LabelMetadataName] = ns.Name
}

// PrepareForCreate starts every namespace Active and holding the
// "kubernetes" finalizer, which the namespace controller removes once it
// has emptied a deleted namespace.
func PrepareForCreate(ns *corev1.Namespace) {
	ns.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
	hasKube := false
	for _, f := range ns.Spec.Finalizers {
		if f == corev1.FinalizerKubernetes {
			hasKube = true
			break
		}
	}
	if !hasKube {
		ns.Spec.Finalizers = append(ns.Spec.Finalizers, corev1.FinalizerKubernetes)
	}
	SetNameLabel(ns)
}

// PrepareForUpdate keeps spec.finalizers: on the main resource they are
// read-only, only namespaces/finalize changes them.
func PrepareForUpdate(ns, old *corev1.Namespace) {
	ns.Spec.Finalizers = old.Spec.Finalizers
	SetNameLabel(ns)
}

// MarkTerminating is what deleting a namespace does first: the API server
// sets metadata.deletionTimestamp (if not yet set) and calls this to move
// the phase to Terminating, then stores the namespace instead of removing
// it. The namespace controller empties it and finalizes it; the namespace
// is removed from storage once ReadyToDelete reports true.
func MarkTerminating(ns *corev1.Namespace) {
	ns.Status.Phase = corev1.NamespaceTerminating
}

// ReadyToDelete reports whether a deleted namespace may now leave storage:
// it is being deleted and no spec or metadata finalizer holds it.
func ReadyToDelete(ns *corev1.Namespace) bool {
	return ns.DeletionTimestamp != nil && len(ns.Spec.Finalizers) == 0 && len(ns.Finalizers) == 0
}
