package statefulset

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var (
	accessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOnce, corev1.ReadWriteOncePod}
	volumeModes = []corev1.PersistentVolumeMode{corev1.PersistentVolumeBlock, corev1.PersistentVolumeFilesystem}
)

// validateClaimTemplates checks each volume claim template's spec the way
// a claim's spec is checked on create: access modes, a positive storage
// request, a valid class name and volume mode.
func validateClaimTemplates(templates []corev1.PersistentVolumeClaim, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i := range templates {
		errs = append(errs, validateClaimSpec(&templates[i].Spec, fldPath.Index(i).Child("spec"))...)
	}
	return errs
}

func validateClaimSpec(spec *corev1.PersistentVolumeClaimSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(spec.AccessModes) == 0 {
		errs = append(errs, field.Required(fldPath.Child("accessModes"), "at least 1 access mode is required"))
	}
	if spec.Selector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(spec.Selector, metav1validation.LabelSelectorValidationOptions{}, fldPath.Child("selector"))...)
	}
	oncePod, others := false, false
	for _, mode := range spec.AccessModes {
		switch mode {
		case corev1.ReadWriteOncePod:
			oncePod = true
		case corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOnce:
			others = true
		default:
			errs = append(errs, field.NotSupported(fldPath.Child("accessModes"), mode, accessModes))
		}
	}
	if oncePod && others {
		errs = append(errs, field.Forbidden(fldPath.Child("accessModes"), "may not use ReadWriteOncePod with other access modes"))
	}
	storagePath := fldPath.Child("resources").Key(string(corev1.ResourceStorage))
	if storage, ok := spec.Resources.Requests[corev1.ResourceStorage]; !ok {
		errs = append(errs, field.Required(storagePath, ""))
	} else if storage.Cmp(resource.Quantity{}) <= 0 {
		errs = append(errs, field.Invalid(storagePath, storage.String(), "must be greater than zero"))
	}
	if spec.StorageClassName != nil && *spec.StorageClassName != "" {
		for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(*spec.StorageClassName, false) {
			errs = append(errs, field.Invalid(fldPath.Child("storageClassName"), *spec.StorageClassName, msg))
		}
	}
	if spec.VolumeMode != nil && *spec.VolumeMode != corev1.PersistentVolumeBlock && *spec.VolumeMode != corev1.PersistentVolumeFilesystem {
		errs = append(errs, field.NotSupported(fldPath.Child("volumeMode"), *spec.VolumeMode, volumeModes))
	}
	return errs
}

// withClaimVolumes returns a copy of the pod template as the controller
// will stamp it out: hostname and subdomain are the controller's to set,
// and each claim template becomes a volume of the same name, so that
// containers may mount it.
func withClaimVolumes(t *corev1.PodTemplateSpec, claims []corev1.PersistentVolumeClaim) *corev1.PodTemplateSpec {
	if t.Spec.Hostname == "" && t.Spec.Subdomain == "" && len(claims) == 0 {
		return t
	}
	c := t.DeepCopy()
	c.Spec.Hostname, c.Spec.Subdomain = "", ""
	if len(claims) == 0 {
		return c
	}
	claimed := make(map[string]bool, len(claims))
	volumes := make([]corev1.Volume, 0, len(claims)+len(c.Spec.Volumes))
	for _, pvc := range claims {
		if claimed[pvc.Name] {
			continue
		}
		claimed[pvc.Name] = true
		volumes = append(volumes, corev1.Volume{
			Name:         pvc.Name,
			VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: pvc.Name}},
		})
	}
	for _, v := range c.Spec.Volumes {
		if !claimed[v.Name] {
			volumes = append(volumes, v)
		}
	}
	c.Spec.Volumes = volumes
	return c
}
