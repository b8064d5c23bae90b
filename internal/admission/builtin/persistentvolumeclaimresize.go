package builtin

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	storagehelpers "k8s.io/component-helpers/storage/volume"

	"github.com/kemudi/kemudi/internal/auth"
)

// Upstream's refusals, word for word (kubectl users and scripts match
// on them).
var (
	errResizeUnbound  = errors.New("Only bound persistent volume claims can be expanded")
	errResizeNotClass = errors.New("only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize")
)

// PersistentVolumeClaimResize is upstream's admission plugin of that
// name: an update that raises a claim's storage request is forbidden
// unless the claim is bound and its StorageClass (the same before and
// after) exists and has allowVolumeExpansion: true. Lowering the request
// (recovery from a failed expansion) is left to validation.
type PersistentVolumeClaimResize struct {
	Classes Reader[*storagev1.StorageClass]
}

// Admit implements auth.Admission.
func (p PersistentVolumeClaimResize) Admit(ctx context.Context, r *auth.AdmissionRequest) error {
	if r.Operation != auth.Update || r.APIGroup != "" || r.Resource != "persistentvolumeclaims" || r.Subresource != "" {
		return nil
	}
	pvc, ok := r.Object.(*corev1.PersistentVolumeClaim)
	if !ok {
		return nil
	}
	old, ok := r.Old.(*corev1.PersistentVolumeClaim)
	if !ok {
		return nil
	}
	if err := resizeRefusal(pvc, old, p.class(ctx)); err != nil {
		return apierrors.NewForbidden(claimsGR, pvc.Name, err)
	}
	return nil
}

// class returns the named StorageClass, nil when there is none.
func (p PersistentVolumeClaimResize) class(ctx context.Context) func(string) *storagev1.StorageClass {
	return func(name string) *storagev1.StorageClass {
		sc, err := p.Classes.Get(ctx, "", name)
		if err != nil {
			return nil
		}
		return sc
	}
}

// resizeRefusal is why an update of old to pvc may not be stored, nil
// when it may.
func resizeRefusal(pvc, old *corev1.PersistentVolumeClaim, class func(string) *storagev1.StorageClass) error {
	oldSize := old.Spec.Resources.Requests[corev1.ResourceStorage]
	newSize := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if newSize.Cmp(oldSize) <= 0 {
		return nil
	}
	if old.Status.Phase != corev1.ClaimBound {
		return errResizeUnbound
	}
	name := storagehelpers.GetPersistentVolumeClaimClass(pvc)
	if name == "" || name != storagehelpers.GetPersistentVolumeClaimClass(old) {
		return errResizeNotClass
	}
	sc := class(name)
	if sc == nil || sc.AllowVolumeExpansion == nil || !*sc.AllowVolumeExpansion {
		return errResizeNotClass
	}
	return nil
}
