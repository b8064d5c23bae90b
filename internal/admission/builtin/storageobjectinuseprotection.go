package builtin

import (
	"context"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/kemudi/kemudi/internal/auth"
)

// Finalizers upstream's StorageObjectInUseProtection admission adds.
const (
	pvcProtectionFinalizer = "kubernetes.io/pvc-protection"
	pvProtectionFinalizer  = "kubernetes.io/pv-protection"
)

// StorageObjectInUseProtection is upstream's StorageObjectInUseProtection
// admission: a new PersistentVolumeClaim or PersistentVolume carries the
// finalizer that keeps it while a pod uses it (the pvc-protection and
// pv-protection controllers remove it).
type StorageObjectInUseProtection struct{}

// Mutate implements auth.MutatingAdmission.
func (StorageObjectInUseProtection) Mutate(_ context.Context, r *auth.AdmissionRequest) error {
	if r.Operation != auth.Create {
		return nil
	}
	switch o := r.Object.(type) {
	case *corev1.PersistentVolumeClaim:
		addFinalizer(&o.Finalizers, pvcProtectionFinalizer)
	case *corev1.PersistentVolume:
		addFinalizer(&o.Finalizers, pvProtectionFinalizer)
	}
	return nil
}

func addFinalizer(finalizers *[]string, f string) {
	if !slices.Contains(*finalizers, f) {
		*finalizers = append(*finalizers, f)
	}
}
