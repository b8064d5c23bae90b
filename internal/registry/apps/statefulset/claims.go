package statefulset

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry/core/persistentvolumeclaim"
)

// validateClaimTemplates checks each volume claim template's spec as a
// claim's spec is checked on create.
func validateClaimTemplates(templates []corev1.PersistentVolumeClaim, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i := range templates {
		errs = append(errs, persistentvolumeclaim.ValidateSpec(&templates[i].Spec, fldPath.Index(i).Child("spec"))...)
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
