package statefulset

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry/apps/workload"
	"github.com/kemudi/kemudi/internal/registry/core/podspec"
)

// options relax the spec checks on update, for fields that cannot change
// anyway and may hold values older servers accepted.
type options struct {
	allowInvalidServiceName bool
	skipTemplate            bool // validate only the template's labels and annotations
	skipClaimTemplates      bool
}

// Validate checks a stateful set on create.
func Validate(ss *appsv1.StatefulSet) field.ErrorList {
	return validateSpec(&ss.Spec, field.NewPath("spec"), options{})
}

// ValidateUpdate checks an update. Only replicas, ordinals, template,
// updateStrategy, persistentVolumeClaimRetentionPolicy, minReadySeconds
// and revisionHistoryLimit may change: selector, volumeClaimTemplates,
// serviceName and podManagementPolicy are immutable.
func ValidateUpdate(ss, old *appsv1.StatefulSet) field.ErrorList {
	opts := options{allowInvalidServiceName: true, skipClaimTemplates: true}
	// A set stored before a rule existed keeps working: if the old spec
	// fails today's checks, its template is not re-validated in full.
	if len(validateSpec(&old.Spec, nil, opts)) > 0 {
		opts.skipTemplate = true
	}
	specPath := field.NewPath("spec")
	errs := validateSpec(&ss.Spec, specPath, opts)
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(ss.Spec.Selector, old.Spec.Selector, specPath.Child("selector"))...)
	if !equality.Semantic.DeepEqual(untyped(ss.Spec.VolumeClaimTemplates), untyped(old.Spec.VolumeClaimTemplates)) {
		errs = append(errs, field.Invalid(specPath.Child("volumeClaimTemplates"), ss.Spec.VolumeClaimTemplates, apimachineryvalidation.FieldImmutableErrorMsg))
	}
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(ss.Spec.ServiceName, old.Spec.ServiceName, specPath.Child("serviceName"))...)
	return append(errs, apimachineryvalidation.ValidateImmutableField(ss.Spec.PodManagementPolicy, old.Spec.PodManagementPolicy, specPath.Child("podManagementPolicy"))...)
}

// untyped returns claim templates without apiVersion and kind, which
// carry no meaning inside a stateful set and are not stored.
func untyped(claims []corev1.PersistentVolumeClaim) []corev1.PersistentVolumeClaim {
	if claims == nil {
		return nil
	}
	out := make([]corev1.PersistentVolumeClaim, len(claims))
	for i := range claims {
		out[i] = claims[i]
		out[i].TypeMeta = metav1.TypeMeta{}
	}
	return out
}

func validateSpec(spec *appsv1.StatefulSetSpec, fldPath *field.Path, opts options) field.ErrorList {
	var errs field.ErrorList
	switch spec.PodManagementPolicy {
	case "":
		errs = append(errs, field.Required(fldPath.Child("podManagementPolicy"), ""))
	case appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement:
	default:
		errs = append(errs, field.Invalid(fldPath.Child("podManagementPolicy"), spec.PodManagementPolicy,
			fmt.Sprintf("must be '%s' or '%s'", appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement)))
	}
	errs = append(errs, validateUpdateStrategy(&spec.UpdateStrategy, fldPath.Child("updateStrategy"))...)
	if p := spec.PersistentVolumeClaimRetentionPolicy; p != nil {
		errs = append(errs, validateRetention(p.WhenDeleted, fldPath.Child("persistentVolumeClaimRetentionPolicy", "whenDeleted"))...)
		errs = append(errs, validateRetention(p.WhenScaled, fldPath.Child("persistentVolumeClaimRetentionPolicy", "whenScaled"))...)
	}
	if !opts.skipClaimTemplates {
		errs = append(errs, validateClaimTemplates(spec.VolumeClaimTemplates, fldPath.Child("volumeClaimTemplates"))...)
	}
	errs = append(errs, nonNegative(deref(spec.Replicas), fldPath.Child("replicas"))...)
	errs = append(errs, nonNegative(spec.MinReadySeconds, fldPath.Child("minReadySeconds"))...)
	if spec.Ordinals != nil {
		errs = append(errs, nonNegative(spec.Ordinals.Start, fldPath.Child("ordinals", "start"))...)
	}
	// The service governs the pods' DNS names; it may be left empty.
	if !opts.allowInvalidServiceName && spec.ServiceName != "" {
		for _, msg := range validation.IsDNS1123Label(spec.ServiceName) {
			errs = append(errs, field.Invalid(fldPath.Child("serviceName"), spec.ServiceName, msg))
		}
	}
	errs = append(errs, workload.ValidateRequiredSelector(spec.Selector, "statefulset", fldPath.Child("selector"))...)
	if selector, err := metav1.LabelSelectorAsSelector(spec.Selector); err != nil {
		errs = append(errs, field.Invalid(fldPath.Child("selector"), spec.Selector, ""))
	} else {
		templatePath := fldPath.Child("template")
		t := withClaimVolumes(&spec.Template, spec.VolumeClaimTemplates)
		errs = append(errs, podspec.ValidateSelectorMatchesTemplate(selector, t, templatePath)...)
		if opts.skipTemplate {
			errs = append(errs, metav1validation.ValidateLabels(t.Labels, templatePath.Child("labels"))...)
			errs = append(errs, apimachineryvalidation.ValidateAnnotations(t.Annotations, templatePath.Child("annotations"))...)
		} else {
			errs = append(errs, podspec.ValidatePodTemplateSpec(t, templatePath)...)
		}
	}
	return append(errs, podspec.ValidateLongRunningTemplate(&spec.Template, fldPath.Child("template"), "StatefulSet")...)
}

func validateUpdateStrategy(s *appsv1.StatefulSetUpdateStrategy, fldPath *field.Path) field.ErrorList {
	switch s.Type {
	case "":
		return field.ErrorList{field.Required(fldPath, "")}
	case appsv1.OnDeleteStatefulSetStrategyType:
		if s.RollingUpdate != nil {
			return field.ErrorList{field.Invalid(fldPath.Child("rollingUpdate"), s.RollingUpdate,
				fmt.Sprintf("only allowed for updateStrategy '%s'", appsv1.RollingUpdateStatefulSetStrategyType))}
		}
	case appsv1.RollingUpdateStatefulSetStrategyType:
		if s.RollingUpdate != nil {
			return validateRollingUpdate(s.RollingUpdate, fldPath.Child("rollingUpdate"))
		}
	default:
		return field.ErrorList{field.Invalid(fldPath, s,
			fmt.Sprintf("must be '%s' or '%s'", appsv1.RollingUpdateStatefulSetStrategyType, appsv1.OnDeleteStatefulSetStrategyType))}
	}
	return nil
}

// validateRollingUpdate checks the partition and maxUnavailable, which
// must let at least one pod be updated at a time.
func validateRollingUpdate(ru *appsv1.RollingUpdateStatefulSetStrategy, fldPath *field.Path) field.ErrorList {
	errs := nonNegative(deref(ru.Partition), fldPath.Child("partition"))
	if ru.MaxUnavailable != nil {
		p := fldPath.Child("maxUnavailable")
		errs = append(errs, workload.ValidateIntOrPercent(*ru.MaxUnavailable, p)...)
		if workload.IntOrPercentValue(*ru.MaxUnavailable) == 0 {
			errs = append(errs, field.Invalid(p, *ru.MaxUnavailable, "cannot be 0"))
		}
		errs = append(errs, workload.NotMoreThan100Percent(*ru.MaxUnavailable, p)...)
	}
	return errs
}

func validateRetention(policy appsv1.PersistentVolumeClaimRetentionPolicyType, fldPath *field.Path) field.ErrorList {
	switch policy {
	case appsv1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1.DeletePersistentVolumeClaimRetentionPolicyType:
		return nil
	}
	return field.ErrorList{field.NotSupported(fldPath, policy, []appsv1.PersistentVolumeClaimRetentionPolicyType{
		appsv1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1.DeletePersistentVolumeClaimRetentionPolicyType})}
}

// ValidateStatusUpdate checks the counts the controller reports and that
// the collision count never goes down.
func ValidateStatusUpdate(ss, old *appsv1.StatefulSet) field.ErrorList {
	st, fldPath := &ss.Status, field.NewPath("status")
	errs := nonNegative(st.Replicas, fldPath.Child("replicas"))
	errs = append(errs, nonNegative(st.ReadyReplicas, fldPath.Child("readyReplicas"))...)
	errs = append(errs, nonNegative(st.CurrentReplicas, fldPath.Child("currentReplicas"))...)
	errs = append(errs, nonNegative(st.UpdatedReplicas, fldPath.Child("updatedReplicas"))...)
	errs = append(errs, nonNegative(st.AvailableReplicas, fldPath.Child("availableReplicas"))...)
	errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(st.ObservedGeneration, fldPath.Child("observedGeneration"))...)
	if st.CollisionCount != nil {
		errs = append(errs, nonNegative(*st.CollisionCount, fldPath.Child("collisionCount"))...)
	}
	const msg = "cannot be greater than status.replicas"
	for _, c := range []struct {
		name  string
		value int32
	}{{"readyReplicas", st.ReadyReplicas}, {"currentReplicas", st.CurrentReplicas}, {"updatedReplicas", st.UpdatedReplicas}, {"availableReplicas", st.AvailableReplicas}} {
		if c.value > st.Replicas {
			errs = append(errs, field.Invalid(fldPath.Child(c.name), c.value, msg))
		}
	}
	if st.AvailableReplicas > st.ReadyReplicas {
		errs = append(errs, field.Invalid(fldPath.Child("availableReplicas"), st.AvailableReplicas, "cannot be greater than status.readyReplicas"))
	}
	return append(errs, workload.CollisionCountNotDecremented(st.CollisionCount, old.Status.CollisionCount, fldPath.Child("collisionCount"))...)
}

func nonNegative(v int32, fldPath *field.Path) field.ErrorList {
	return apimachineryvalidation.ValidateNonnegativeField(int64(v), fldPath)
}
