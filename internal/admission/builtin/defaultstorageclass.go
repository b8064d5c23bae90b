package builtin

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	storagehelpers "k8s.io/component-helpers/storage/volume"

	"github.com/kemudi/kemudi/internal/auth"
	"github.com/kemudi/kemudi/internal/registry/storage/storageclass"
)

var (
	storageClassesGR = schema.GroupResource{Group: "storage.k8s.io", Resource: "storageclasses"}
	claimsGR         = schema.GroupResource{Resource: "persistentvolumeclaims"}
)

// DefaultStorageClass is upstream's DefaultStorageClass admission: a
// PersistentVolumeClaim created without a class (no storageClassName, no
// beta annotation) gets the default StorageClass, the newest of those
// marked storageclass.kubernetes.io/is-default-class "true". An explicit
// "" (no class) stays; without a default nothing changes (the
// persistentvolume-binder sets it later, when a default appears).
type DefaultStorageClass struct {
	Classes Reader[*storagev1.StorageClass]
}

// Mutate implements auth.MutatingAdmission.
func (p DefaultStorageClass) Mutate(ctx context.Context, r *auth.AdmissionRequest) error {
	pvc, ok := r.Object.(*corev1.PersistentVolumeClaim)
	if !ok || r.Operation != auth.Create || r.Subresource != "" || storagehelpers.PersistentVolumeClaimHasClass(pvc) {
		return nil
	}
	classes, err := p.Classes.List(ctx, "")
	if err != nil {
		return apierrors.NewForbidden(claimsGR, pvc.Name, err)
	}
	if def := storageclass.DefaultOf(classes); def != nil {
		name := def.Name
		pvc.Spec.StorageClassName = &name
	}
	return nil
}
