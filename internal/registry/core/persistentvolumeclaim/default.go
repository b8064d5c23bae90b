package persistentvolumeclaim

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/kemudi/kemudi/internal/registry/core/resourcequota"
)

// Default applies upstream's v1 defaults: volume mode Filesystem, phase
// Pending, quantities rounded up to milli-units.
func Default(pvc *corev1.PersistentVolumeClaim) {
	if pvc.Spec.VolumeMode == nil {
		fs := corev1.PersistentVolumeFilesystem
		pvc.Spec.VolumeMode = &fs
	}
	if pvc.Status.Phase == "" {
		pvc.Status.Phase = corev1.ClaimPending
	}
	resourcequota.RoundUpToMilli(pvc.Spec.Resources.Limits)
	resourcequota.RoundUpToMilli(pvc.Spec.Resources.Requests)
	resourcequota.RoundUpToMilli(pvc.Status.Capacity)
	resourcequota.RoundUpToMilli(pvc.Status.AllocatedResources)
}

// PrepareForCreate starts a claim Pending and settles its data source
// fields (see prepareDataSources).
func PrepareForCreate(pvc *corev1.PersistentVolumeClaim) {
	pvc.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}
	prepareDataSources(&pvc.Spec, nil)
}

// PrepareForUpdate settles the data source fields of an update.
func PrepareForUpdate(pvc, old *corev1.PersistentVolumeClaim) {
	prepareDataSources(&pvc.Spec, &old.Spec)
}

// PrepareForStatusUpdate drops healthStatus, which belongs to an alpha
// feature that is off, unless the claim already had it.
func PrepareForStatusUpdate(pvc, old *corev1.PersistentVolumeClaim) {
	if old.Status.HealthStatus == nil {
		pvc.Status.HealthStatus = nil
	}
}

// prepareDataSources does what upstream does to dataSource and
// dataSourceRef: a cross-namespace dataSourceRef (an alpha feature that
// is off) is dropped unless already in use; a claim that had no data
// source and gets one only through dataSource keeps it only if it names
// a claim or a volume snapshot (older clients relied on others being
// ignored); then each of the two fields, when alone, is copied to the
// other.
func prepareDataSources(spec, old *corev1.PersistentVolumeClaimSpec) {
	if ref := spec.DataSourceRef; ref != nil && ref.Namespace != nil && *ref.Namespace != "" && (old == nil || old.DataSourceRef == nil) {
		spec.DataSourceRef = nil
	}
	inUse := old != nil && (old.DataSource != nil || old.DataSourceRef != nil)
	if !inUse && spec.DataSourceRef == nil && !isClaimOrSnapshot(spec.DataSource) {
		spec.DataSource = nil
	}
	normalizeDataSources(spec)
}

func isClaimOrSnapshot(ds *corev1.TypedLocalObjectReference) bool {
	if ds == nil {
		return false
	}
	group := ""
	if ds.APIGroup != nil {
		group = *ds.APIGroup
	}
	return (ds.Kind == "PersistentVolumeClaim" && group == "") || (ds.Kind == "VolumeSnapshot" && group == "snapshot.storage.k8s.io")
}

// normalizeDataSources fills whichever of dataSource and dataSourceRef is
// missing from the other (not for a cross-namespace ref, which dataSource
// cannot express).
func normalizeDataSources(spec *corev1.PersistentVolumeClaimSpec) {
	switch {
	case spec.DataSource != nil && spec.DataSourceRef == nil:
		spec.DataSourceRef = &corev1.TypedObjectReference{Kind: spec.DataSource.Kind, Name: spec.DataSource.Name, APIGroup: copyString(spec.DataSource.APIGroup)}
	case spec.DataSourceRef != nil && spec.DataSource == nil:
		if spec.DataSourceRef.Namespace == nil || *spec.DataSourceRef.Namespace == "" {
			spec.DataSource = &corev1.TypedLocalObjectReference{Kind: spec.DataSourceRef.Kind, Name: spec.DataSourceRef.Name, APIGroup: copyString(spec.DataSourceRef.APIGroup)}
		}
	}
}

func copyString(s *string) *string {
	if s == nil {
		return nil
	}
	c := *s
	return &c
}
