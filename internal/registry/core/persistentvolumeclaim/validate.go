package persistentvolumeclaim

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/diff"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry/core/persistentvolume"
	"github.com/kemudi/kemudi/internal/registry/core/resourcequota"
)

// options relax checks on update for values older releases accepted.
type options struct {
	allowInvalidSelectorValues bool
	allowInvalidAPIGroup       bool
}

// Validate checks a new claim's spec.
func Validate(pvc *corev1.PersistentVolumeClaim) field.ErrorList {
	return ValidateSpec(&pvc.Spec, field.NewPath("spec"))
}

// ValidateSpec checks a claim spec at fldPath (also the spec of volume
// claim templates): access modes, a positive storage request, the
// selector, class names, volume mode and data sources.
func ValidateSpec(spec *corev1.PersistentVolumeClaimSpec, fldPath *field.Path) field.ErrorList {
	return validateSpec(spec, fldPath, options{})
}

func validateSpec(spec *corev1.PersistentVolumeClaimSpec, fldPath *field.Path, opts options) field.ErrorList {
	errs := persistentvolume.ValidateAccessModes(spec.AccessModes, fldPath.Child("accessModes"), "at least 1 access mode is required")
	if spec.Selector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(spec.Selector,
			metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: opts.allowInvalidSelectorValues}, fldPath.Child("selector"))...)
	}
	storagePath := fldPath.Child("resources").Key(string(corev1.ResourceStorage))
	if q, ok := spec.Resources.Requests[corev1.ResourceStorage]; !ok {
		errs = append(errs, field.Required(storagePath, ""))
	} else if e := persistentvolume.ValidatePositiveQuantity(q, storagePath); len(e) > 0 {
		errs = append(errs, e...)
	} else {
		errs = append(errs, resourcequota.ValidateResourceQuantityValue(corev1.ResourceStorage, q, storagePath)...)
	}
	if spec.StorageClassName != nil && *spec.StorageClassName != "" {
		errs = append(errs, persistentvolume.ValidateClassName(*spec.StorageClassName, fldPath.Child("storageClassName"))...)
	}
	if spec.VolumeMode != nil {
		errs = append(errs, persistentvolume.ValidateVolumeMode(*spec.VolumeMode, fldPath.Child("volumeMode"))...)
	}
	if ds := spec.DataSource; ds != nil {
		errs = append(errs, validateDataSource(ds.Name, ds.Kind, ds.APIGroup, fldPath.Child("dataSource"), opts)...)
	}
	if ref := spec.DataSourceRef; ref != nil {
		p := fldPath.Child("dataSourceRef")
		errs = append(errs, validateDataSource(ref.Name, ref.Kind, ref.APIGroup, p, opts)...)
		if ref.Namespace != nil && *ref.Namespace != "" {
			for _, msg := range apimachineryvalidation.ValidateNamespaceName(*ref.Namespace, false) {
				errs = append(errs, field.Invalid(p.Child("namespace"), *ref.Namespace, msg))
			}
		}
	}
	if ref := spec.DataSourceRef; ref != nil && ref.Namespace != nil && *ref.Namespace != "" {
		if spec.DataSource != nil {
			errs = append(errs, field.Invalid(fldPath, fldPath.Child("dataSource"), "may not be specified when dataSourceRef.namespace is specified"))
		}
	} else if spec.DataSource != nil && spec.DataSourceRef != nil && !sameDataSource(spec.DataSource, spec.DataSourceRef) {
		errs = append(errs, field.Invalid(fldPath, fldPath.Child("dataSource"), "must match dataSourceRef"))
	}
	if vac := spec.VolumeAttributesClassName; vac != nil && *vac != "" {
		errs = append(errs, persistentvolume.ValidateClassName(*vac, fldPath.Child("volumeAttributesClassName"))...)
	}
	return errs
}

// validateDataSource checks dataSource or dataSourceRef: a name and kind,
// and without an API group the kind must be PersistentVolumeClaim.
func validateDataSource(name, kind string, apiGroup *string, p *field.Path, opts options) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	}
	if kind == "" {
		errs = append(errs, field.Required(p.Child("kind"), ""))
	}
	group := ""
	if apiGroup != nil {
		group = *apiGroup
	}
	if group == "" && kind != "PersistentVolumeClaim" {
		errs = append(errs, field.Invalid(p, kind, "must be 'PersistentVolumeClaim' when referencing the default apiGroup"))
	}
	if group != "" && !opts.allowInvalidAPIGroup {
		for _, msg := range validation.IsDNS1123Subdomain(group) {
			errs = append(errs, field.Invalid(p.Child("apiGroup"), group, msg))
		}
	}
	return errs
}

func sameDataSource(ds *corev1.TypedLocalObjectReference, ref *corev1.TypedObjectReference) bool {
	return equality.Semantic.DeepEqual(ds.APIGroup, ref.APIGroup) && ds.Kind == ref.Kind && ds.Name == ref.Name
}

// ValidateUpdate checks an update. The spec is frozen except that an
// unbound claim may be given its volumeName once, a nil storageClassName
// may be set (from the beta annotation, or to a class the annotation
// agrees with), and a bound claim may change its storage request and
// volumeAttributesClassName. The request may shrink only while it stays
// above the capacity in status (to recover from a failed expansion).
func ValidateUpdate(pvc, old *corev1.PersistentVolumeClaim) field.ErrorList {
	opts := options{
		allowInvalidAPIGroup: (old.Spec.DataSource != nil && old.Spec.DataSource.APIGroup != nil) ||
			(old.Spec.DataSourceRef != nil && old.Spec.DataSourceRef.APIGroup != nil),
	}
	if old.Spec.Selector != nil && len(metav1validation.ValidateLabelSelector(old.Spec.Selector, metav1validation.LabelSelectorValidationOptions{}, nil)) > 0 {
		opts.allowInvalidSelectorValues = true
	}
	errs := validateSpec(&pvc.Spec, field.NewPath("spec"), opts)

	newSpec, oldSpec := pvc.Spec.DeepCopy(), old.Spec.DeepCopy()
	normalizeDataSources(oldSpec)
	if old.Spec.VolumeName == "" {
		oldSpec.VolumeName = newSpec.VolumeName
	}
	oldClass, oldHasAnnotation := old.Annotations[corev1.BetaStorageClassAnnotation]
	newClass, newHasAnnotation := pvc.Annotations[corev1.BetaStorageClassAnnotation]
	if oldHasAnnotation && old.Spec.StorageClassName == nil && pvc.Spec.StorageClassName != nil &&
		*pvc.Spec.StorageClassName == oldClass && (!newHasAnnotation || newClass == oldClass) {
		// Moving the class from the beta annotation to the field.
		newSpec.StorageClassName = nil
	} else {
		if newClass != oldClass {
			errs = append(errs, field.Invalid(field.NewPath("metadata", "annotations", corev1.BetaStorageClassAnnotation), newClass, apimachineryvalidation.FieldImmutableErrorMsg))
		}
		if pvc.Spec.StorageClassName != nil && old.Spec.StorageClassName == nil && (!oldHasAnnotation || *pvc.Spec.StorageClassName == oldClass) {
			newSpec.StorageClassName = oldSpec.StorageClassName
		}
	}
	if pvc.Status.Phase == corev1.ClaimBound {
		if newSpec.Resources.Requests != nil {
			newSpec.Resources.Requests[corev1.ResourceStorage] = old.Spec.Resources.Requests[corev1.ResourceStorage]
		}
		newSpec.VolumeAttributesClassName = oldSpec.VolumeAttributesClassName
	}
	if !equality.Semantic.DeepEqual(newSpec, oldSpec) {
		errs = append(errs, field.Forbidden(field.NewPath("spec"), fmt.Sprintf(
			"spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n%v", diff.Diff(oldSpec, newSpec))))
	}

	oldSize := old.Spec.Resources.Requests[corev1.ResourceStorage]
	newSize := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	statusSize := old.Status.Capacity[corev1.ResourceStorage]
	if newSize.Cmp(oldSize) < 0 && newSize.Cmp(statusSize) <= 0 {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "resources", "requests", "storage"), "field can not be less than status.capacity"))
	}
	// Upstream reports this one without the spec prefix.
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(pvc.Spec.VolumeMode, old.Spec.VolumeMode, field.NewPath("volumeMode"))...)

	if old.Status.CurrentVolumeAttributesClassName != nil && !equality.Semantic.DeepEqual(pvc.Spec.VolumeAttributesClassName, old.Spec.VolumeAttributesClassName) {
		p := field.NewPath("spec", "volumeAttributesClassName")
		switch {
		case pvc.Spec.VolumeAttributesClassName == nil:
			errs = append(errs, field.Forbidden(p, "update to nil is forbidden when status.currentVolumeAttributesClassName is not nil"))
		case *pvc.Spec.VolumeAttributesClassName == "":
			errs = append(errs, field.Forbidden(p, "update to empty string is forbidden when status.currentVolumeAttributesClassName is not nil"))
		}
	}
	return errs
}

// resizeStatuses are the states of an expansion status may report.
var resizeStatuses = []string{
	string(corev1.PersistentVolumeClaimControllerResizeInProgress),
	string(corev1.PersistentVolumeClaimControllerResizeInfeasible),
	string(corev1.PersistentVolumeClaimNodeResizeInProgress),
	string(corev1.PersistentVolumeClaimNodeResizeInfeasible),
	string(corev1.PersistentVolumeClaimNodeResizePending),
}

// ValidateStatus checks a status update. (Upstream reports the access
// modes at "Spec.accessModes", capital S, and so do we.)
func ValidateStatus(pvc *corev1.PersistentVolumeClaim) field.ErrorList {
	var errs field.ErrorList
	if len(pvc.Spec.AccessModes) == 0 {
		errs = append(errs, field.Required(field.NewPath("Spec", "accessModes"), ""))
	}
	capPath := field.NewPath("status", "capacity")
	for _, name := range sortedNames(pvc.Status.Capacity) {
		errs = append(errs, validateBasicResource(pvc.Status.Capacity[name], capPath.Key(string(name)))...)
	}
	if h := pvc.Status.HealthStatus; h != nil {
		hp := field.NewPath("status", "healthStatus", "healthConditions")
		for i, c := range h.HealthConditions {
			if c.Reason == "" {
				continue
			}
			for _, msg := range metav1validation.IsValidConditionReason(c.Reason) {
				errs = append(errs, field.Invalid(hp.Index(i).Child("reason"), c.Reason, msg))
			}
		}
	}
	statusesPath := field.NewPath("status", "allocatedResourceStatuses")
	for name, st := range pvc.Status.AllocatedResourceStatuses {
		errs = append(errs, validateResourceKey(string(name), statusesPath)...)
		known := false
		for _, s := range resizeStatuses {
			known = known || string(st) == s
		}
		if !known {
			errs = append(errs, field.NotSupported(statusesPath, name, resizeStatuses))
		}
	}
	allocPath := field.NewPath("status", "allocatedResources")
	for _, name := range sortedNames(pvc.Status.AllocatedResources) {
		if e := validateResourceKey(string(name), allocPath); len(e) > 0 {
			errs = append(errs, e...)
			continue
		}
		q := pvc.Status.AllocatedResources[name]
		if e := validateBasicResource(q, allocPath.Key(string(name))); len(e) > 0 {
			errs = append(errs, e...)
		} else {
			errs = append(errs, resourcequota.ValidateResourceQuantityValue(corev1.ResourceStorage, q, allocPath.Key(string(name)))...)
		}
	}
	return errs
}

// validateResourceKey accepts storage or a resource outside kubernetes.io.
func validateResourceKey(name string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsQualifiedName(name) {
		errs = append(errs, field.Invalid(p, name, msg))
	}
	if len(errs) > 0 {
		return errs
	}
	if resourcequota.IsNativeResource(corev1.ResourceName(name)) && name != string(corev1.ResourceStorage) {
		errs = append(errs, field.NotSupported(p, name, []string{string(corev1.ResourceStorage)}))
	}
	return errs
}

func validateBasicResource(q resource.Quantity, p *field.Path) field.ErrorList {
	if q.Value() < 0 {
		return field.ErrorList{field.Invalid(p, q.Value(), "must be a valid resource quantity")}
	}
	return nil
}

// Warnings flags the deprecated storage-class annotation and storage
// amounts with fractions of a byte.
func Warnings(pvc *corev1.PersistentVolumeClaim) []string {
	var warnings []string
	if _, ok := pvc.Annotations[corev1.BetaStorageClassAnnotation]; ok {
		warnings = append(warnings, fmt.Sprintf("%s: deprecated since v1.8; use \"storageClassName\" attribute instead",
			field.NewPath("metadata", "annotations").Key(corev1.BetaStorageClassAnnotation)))
	}
	rp := field.NewPath("spec", "resources")
	for _, l := range []struct {
		name string
		list corev1.ResourceList
	}{{"requests", pvc.Spec.Resources.Requests}, {"limits", pvc.Spec.Resources.Limits}} {
		q := l.list[corev1.ResourceStorage]
		if q.MilliValue()%1000 != 0 {
			warnings = append(warnings, fmt.Sprintf("%s: fractional byte value %q is invalid, must be an integer",
				rp.Child(l.name).Key(string(corev1.ResourceStorage)), q.String()))
		}
	}
	return warnings
}

func sortedNames(list corev1.ResourceList) []corev1.ResourceName {
	return sets.List(sets.KeySet(list))
}
