package podspec

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func validateTemplate(t *corev1.PodTemplateSpec, fldPath *field.Path) field.ErrorList {
	errs := metav1validation.ValidateLabels(t.Labels, fldPath.Child("labels"))
	errs = append(errs, apimachineryvalidation.ValidateAnnotations(t.Annotations, fldPath.Child("annotations"))...)
	errs = append(errs, ValidatePodAnnotations(t.Annotations, &t.Spec, fldPath.Child("annotations"))...)
	errs = append(errs, ValidatePodSpec(&t.Spec, fldPath.Child("spec"))...)
	errs = append(errs, ValidateAnnotationsMatchFields(t.ObjectMeta, &t.Spec, fldPath.Child("spec"))...)
	if len(t.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(fldPath.Child("spec", "ephemeralContainers"), "ephemeral containers not allowed in pod template"))
	}
	return errs
}

// ValidateSelectorMatchesTemplate reports a workload whose selector does
// not select its own template's pods, at <template>.metadata.labels. An
// empty selector is left to the caller (it is an error of its own).
func ValidateSelectorMatchesTemplate(selector labels.Selector, t *corev1.PodTemplateSpec, templatePath *field.Path) field.ErrorList {
	if selector == nil || selector.Empty() || selector.Matches(labels.Set(t.Labels)) {
		return nil
	}
	return field.ErrorList{field.Invalid(templatePath.Child("metadata", "labels"), t.Labels, "`selector` does not match template `labels`")}
}

// ValidateLongRunningTemplate holds the rules of controllers that keep
// their pods running (ReplicationController, ReplicaSet, Deployment,
// StatefulSet, DaemonSet): restartPolicy must be Always and
// activeDeadlineSeconds is not allowed. kind names the controller in the
// message ("ReplicaSet" for deployments and replica sets, as upstream).
func ValidateLongRunningTemplate(t *corev1.PodTemplateSpec, templatePath *field.Path, kind string) field.ErrorList {
	var errs field.ErrorList
	if t.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(templatePath.Child("spec", "restartPolicy"), t.Spec.RestartPolicy, []string{string(corev1.RestartPolicyAlways)}))
	}
	if t.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(templatePath.Child("spec", "activeDeadlineSeconds"), fmt.Sprintf("activeDeadlineSeconds in %s is not Supported", kind)))
	}
	return errs
}

// ValidatePodAnnotations checks the annotations with a meaning for pods:
// the mirror pod marker, the legacy tolerations, pod-deletion-cost, and
// the deprecated seccomp and AppArmor annotations.
func ValidatePodAnnotations(annotations map[string]string, spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if value, mirror := annotations[corev1.MirrorPodAnnotationKey]; mirror && spec.NodeName == "" {
		errs = append(errs, field.Invalid(fldPath.Key(corev1.MirrorPodAnnotationKey), value, "must set spec.nodeName if mirror pod annotation is set"))
	}
	if raw := annotations[corev1.TolerationsAnnotationKey]; raw != "" {
		var tolerations []corev1.Toleration
		if err := json.Unmarshal([]byte(raw), &tolerations); err != nil {
			errs = append(errs, field.Invalid(fldPath, corev1.TolerationsAnnotationKey, err.Error()))
		} else if len(tolerations) > 0 {
			errs = append(errs, ValidateTolerations(tolerations, fldPath.Child(corev1.TolerationsAnnotationKey))...)
		}
	}
	if value, ok := annotations[corev1.PodDeletionCost]; ok && !validDeletionCost(value) {
		errs = append(errs, field.Invalid(fldPath.Key(corev1.PodDeletionCost), value, "must be a 32bit integer"))
	}
	for k, v := range annotations {
		if k == corev1.SeccompPodAnnotationKey || strings.HasPrefix(k, corev1.SeccompContainerAnnotationKeyPrefix) {
			errs = append(errs, validateSeccompAnnotation(v, fldPath.Child(k))...)
		}
		if strings.HasPrefix(k, corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix) {
			name := strings.TrimPrefix(k, corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix)
			if !hasContainer(spec, name) {
				errs = append(errs, field.Invalid(fldPath.Key(k), name, "container not found"))
			}
			if v != "" && v != corev1.DeprecatedAppArmorBetaProfileRuntimeDefault && v != corev1.DeprecatedAppArmorBetaProfileNameUnconfined &&
				!strings.HasPrefix(v, corev1.DeprecatedAppArmorBetaProfileNamePrefix) {
				errs = append(errs, field.Invalid(fldPath.Key(k), v, fmt.Sprintf("invalid AppArmor profile name: %q", v)))
			}
		}
	}
	return errs
}

// validDeletionCost: a 32-bit integer without a plus sign or leading zeros.
func validDeletionCost(v string) bool {
	if v == "" || !(v[0] == '-' || v == "0" || (v[0] >= '1' && v[0] <= '9')) {
		return false
	}
	_, err := strconv.ParseInt(v, 10, 32)
	return err == nil
}

func validateSeccompAnnotation(p string, fldPath *field.Path) field.ErrorList {
	switch {
	case p == corev1.SeccompProfileRuntimeDefault, p == corev1.DeprecatedSeccompProfileDockerDefault, p == corev1.SeccompProfileNameUnconfined:
		return nil
	case strings.HasPrefix(p, corev1.SeccompLocalhostProfileNamePrefix):
		return localDescendingPath(strings.TrimPrefix(p, corev1.SeccompLocalhostProfileNamePrefix), fldPath)
	}
	return field.ErrorList{field.Invalid(fldPath, p, "must be a valid seccomp profile")}
}

func hasContainer(spec *corev1.PodSpec, name string) bool {
	found := false
	visitContainers(spec, field.NewPath("spec"), func(c *corev1.Container, _ *field.Path) {
		found = found || c.Name == name
	})
	return found
}

// ValidateAnnotationsMatchFields requires the deprecated seccomp and
// AppArmor annotations, when given along with the fields, to agree with
// them.
func ValidateAnnotationsMatchFields(meta metav1.ObjectMeta, spec *corev1.PodSpec, specPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.SecurityContext != nil && spec.SecurityContext.SeccompProfile != nil {
		if a, ok := meta.Annotations[corev1.SeccompPodAnnotationKey]; ok {
			errs = append(errs, seccompMismatch(a, spec.SecurityContext.SeccompProfile, specPath.Child("securityContext", "seccompProfile"))...)
		}
	}
	visitContainers(spec, specPath, func(c *corev1.Container, cPath *field.Path) {
		if c.SecurityContext == nil || c.SecurityContext.SeccompProfile == nil {
			return
		}
		if a, ok := meta.Annotations[corev1.SeccompContainerAnnotationKeyPrefix+c.Name]; ok {
			errs = append(errs, seccompMismatch(a, c.SecurityContext.SeccompProfile, cPath.Child("securityContext", "seccompProfile"))...)
		}
	})
	if spec.OS != nil && spec.OS.Name == corev1.Windows {
		return errs
	}
	var podProfile *corev1.AppArmorProfile
	if spec.SecurityContext != nil {
		podProfile = spec.SecurityContext.AppArmorProfile
	}
	visitContainers(spec, specPath, func(c *corev1.Container, cPath *field.Path) {
		profile := podProfile
		if c.SecurityContext != nil && c.SecurityContext.AppArmorProfile != nil {
			profile = c.SecurityContext.AppArmorProfile
		}
		if profile == nil {
			return
		}
		a, ok := meta.Annotations[corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix+c.Name]
		if !ok {
			return
		}
		p := cPath.Child("securityContext", "appArmorProfile")
		switch profile.Type {
		case corev1.AppArmorProfileTypeUnconfined:
			if a != corev1.DeprecatedAppArmorBetaProfileNameUnconfined {
				errs = append(errs, field.Forbidden(p.Child("type"), "apparmor type in annotation and field must match"))
			}
		case corev1.AppArmorProfileTypeRuntimeDefault:
			if a != corev1.DeprecatedAppArmorBetaProfileRuntimeDefault {
				errs = append(errs, field.Forbidden(p.Child("type"), "apparmor type in annotation and field must match"))
			}
		case corev1.AppArmorProfileTypeLocalhost:
			if !strings.HasPrefix(a, corev1.DeprecatedAppArmorBetaProfileNamePrefix) {
				errs = append(errs, field.Forbidden(p.Child("type"), "apparmor type in annotation and field must match"))
			} else if profile.LocalhostProfile == nil || strings.TrimPrefix(a, corev1.DeprecatedAppArmorBetaProfileNamePrefix) != *profile.LocalhostProfile {
				errs = append(errs, field.Forbidden(p.Child("localhostProfile"), "apparmor profile in annotation and field must match"))
			}
		}
	})
	return errs
}

func seccompMismatch(annotation string, sp *corev1.SeccompProfile, p *field.Path) field.ErrorList {
	switch sp.Type {
	case corev1.SeccompProfileTypeUnconfined:
		if annotation != corev1.SeccompProfileNameUnconfined {
			return field.ErrorList{field.Forbidden(p.Child("type"), "seccomp type in annotation and field must match")}
		}
	case corev1.SeccompProfileTypeRuntimeDefault:
		if annotation != corev1.SeccompProfileRuntimeDefault && annotation != corev1.DeprecatedSeccompProfileDockerDefault {
			return field.ErrorList{field.Forbidden(p.Child("type"), "seccomp type in annotation and field must match")}
		}
	case corev1.SeccompProfileTypeLocalhost:
		if !strings.HasPrefix(annotation, corev1.SeccompLocalhostProfileNamePrefix) {
			return field.ErrorList{field.Forbidden(p.Child("type"), "seccomp type in annotation and field must match")}
		}
		if sp.LocalhostProfile == nil || strings.TrimPrefix(annotation, corev1.SeccompLocalhostProfileNamePrefix) != *sp.LocalhostProfile {
			return field.ErrorList{field.Forbidden(p.Child("localhostProfile"), "seccomp profile in annotation and field must match")}
		}
	}
	return nil
}
