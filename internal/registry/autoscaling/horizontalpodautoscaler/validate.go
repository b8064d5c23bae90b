package horizontalpodautoscaler

import (
	"fmt"
	"slices"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry/core/podspec"
)

const (
	maxPeriodSeconds              = 1800
	maxStabilizationWindowSeconds = 3600
)

var (
	metricSourceTypes = []autoscalingv2.MetricSourceType{
		autoscalingv2.ContainerResourceMetricSourceType, autoscalingv2.ExternalMetricSourceType,
		autoscalingv2.ObjectMetricSourceType, autoscalingv2.PodsMetricSourceType, autoscalingv2.ResourceMetricSourceType,
	}
	selectPolicies = []autoscalingv2.ScalingPolicySelect{
		autoscalingv2.DisabledPolicySelect, autoscalingv2.MaxChangePolicySelect, autoscalingv2.MinChangePolicySelect,
	}
	policyTypes = []autoscalingv2.HPAScalingPolicyType{autoscalingv2.PercentScalingPolicy, autoscalingv2.PodsScalingPolicy}
)

// refOptions relax the checks of an object reference.
type refOptions struct {
	allowEmptyGroup     bool // core/v1 kinds (ReplicationController)
	allowInvalidVersion bool // unchanged on update
}

// options are the reference rules for an autoscaler's spec.
type options struct {
	target, described refOptions
}

// Validate checks an autoscaler on create.
func Validate(hpa *autoscalingv2.HorizontalPodAutoscaler) field.ErrorList {
	return validateSpec(&hpa.Spec, field.NewPath("spec"), optionsFor(hpa, nil))
}

// ValidateUpdate checks an update; references that did not change are
// not held to apiVersion rules added since they were stored.
func ValidateUpdate(hpa, old *autoscalingv2.HorizontalPodAutoscaler) field.ErrorList {
	return validateSpec(&hpa.Spec, field.NewPath("spec"), optionsFor(hpa, old))
}

func optionsFor(hpa, old *autoscalingv2.HorizontalPodAutoscaler) options {
	opts := options{described: refOptions{allowEmptyGroup: true}}
	ref := hpa.Spec.ScaleTargetRef
	switch {
	case old != nil && old.Spec.ScaleTargetRef.APIVersion == ref.APIVersion && old.Spec.ScaleTargetRef.Kind == ref.Kind:
		opts.target.allowInvalidVersion = true
	case ref.Kind == "ReplicationController":
		// The one scalable kind in the core group.
		opts.target.allowEmptyGroup = true
	}
	if old != nil {
		for _, m := range old.Spec.Metrics {
			if m.Type == autoscalingv2.ObjectMetricSourceType && m.Object != nil && checkAPIVersion(m.Object.DescribedObject.APIVersion, opts.described) != nil {
				opts.described.allowInvalidVersion = true
				break
			}
		}
	}
	return opts
}

func validateSpec(spec *autoscalingv2.HorizontalPodAutoscalerSpec, fldPath *field.Path, opts options) field.ErrorList {
	var errs field.ErrorList
	// Scaling to zero (HPAScaleToZero) is beta and on in 1.37.
	if spec.MinReplicas != nil && *spec.MinReplicas < 0 {
		errs = append(errs, field.Invalid(fldPath.Child("minReplicas"), *spec.MinReplicas, "must be greater than or equal to 0"))
	}
	switch {
	case spec.MaxReplicas == 0:
		errs = append(errs, field.Required(fldPath.Child("maxReplicas"), "must be set and greater than 0"))
	case spec.MaxReplicas < 0:
		errs = append(errs, field.Invalid(fldPath.Child("maxReplicas"), spec.MaxReplicas, "must be greater than or equal to 1"))
	}
	if spec.MinReplicas != nil && spec.MaxReplicas < *spec.MinReplicas {
		errs = append(errs, field.Invalid(fldPath.Child("maxReplicas"), spec.MaxReplicas, "must be greater than or equal to `minReplicas`"))
	}
	errs = append(errs, validateReference(spec.ScaleTargetRef.Kind, spec.ScaleTargetRef.Name, spec.ScaleTargetRef.APIVersion, fldPath.Child("scaleTargetRef"), opts.target)...)
	errs = append(errs, validateMetrics(spec.Metrics, spec.MinReplicas, fldPath.Child("metrics"), opts.described)...)
	if b := spec.Behavior; b != nil {
		errs = append(errs, validateRules(b.ScaleUp, fldPath.Child("behavior", "scaleUp"))...)
		errs = append(errs, validateRules(b.ScaleDown, fldPath.Child("behavior", "scaleDown"))...)
	}
	return errs
}

// validateReference checks a kind, name and apiVersion that must make a
// request path: the scale target, or an object metric's described object.
func validateReference(kind, name, apiVersion string, fldPath *field.Path, opts refOptions) field.ErrorList {
	var errs field.ErrorList
	if kind == "" {
		errs = append(errs, field.Required(fldPath.Child("kind"), ""))
	} else {
		for _, msg := range content.IsPathSegmentName(kind) {
			errs = append(errs, field.Invalid(fldPath.Child("kind"), kind, msg))
		}
	}
	if name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), ""))
	} else {
		for _, msg := range content.IsPathSegmentName(name) {
			errs = append(errs, field.Invalid(fldPath.Child("name"), name, msg))
		}
	}
	if err := checkAPIVersion(apiVersion, opts); err != nil {
		errs = append(errs, field.Invalid(fldPath.Child("apiVersion"), apiVersion, err.Error()))
	}
	return errs
}

func checkAPIVersion(apiVersion string, opts refOptions) error {
	if opts.allowInvalidVersion {
		return nil
	}
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return err
	}
	if !opts.allowEmptyGroup && gv.Group == "" {
		return fmt.Errorf("apiVersion must specify API group")
	}
	return nil
}

func validateMetrics(metrics []autoscalingv2.MetricSpec, minReplicas *int32, fldPath *field.Path, opts refOptions) field.ErrorList {
	var errs field.ErrorList
	scalesFromZero := false
	for i := range metrics {
		errs = append(errs, validateMetric(&metrics[i], fldPath.Index(i), opts)...)
		if t := metrics[i].Type; t == autoscalingv2.ObjectMetricSourceType || t == autoscalingv2.ExternalMetricSourceType {
			scalesFromZero = true
		}
	}
	// With no pods there is no pod metric to scale back up on.
	if minReplicas != nil && *minReplicas == 0 && !scalesFromZero {
		errs = append(errs, field.Forbidden(fldPath, "must specify at least one Object or External metric to support scaling to zero replicas"))
	}
	return errs
}

// validateMetric checks that a metric has a known type, the source of
// that type and no other, and that the source is well formed.
func validateMetric(m *autoscalingv2.MetricSpec, fldPath *field.Path, opts refOptions) field.ErrorList {
	var errs field.ErrorList
	if m.Type == "" {
		errs = append(errs, field.Required(fldPath.Child("type"), "must specify a metric source type"))
	}
	if !slices.Contains(metricSourceTypes, m.Type) {
		errs = append(errs, field.NotSupported(fldPath.Child("type"), m.Type, metricSourceTypes))
	}
	// Only the first source present (in upstream's order) is validated;
	// the others are reported as extra below.
	var present []string
	if m.Object != nil {
		if present = append(present, "object"); len(present) == 1 {
			errs = append(errs, validateObjectSource(m.Object, fldPath.Child("object"), opts)...)
		}
	}
	if m.External != nil {
		if present = append(present, "external"); len(present) == 1 {
			errs = append(errs, validateExternalSource(m.External, fldPath.Child("external"))...)
		}
	}
	if m.Pods != nil {
		if present = append(present, "pods"); len(present) == 1 {
			errs = append(errs, validatePodsSource(m.Pods, fldPath.Child("pods"))...)
		}
	}
	if m.Resource != nil {
		if present = append(present, "resource"); len(present) == 1 {
			errs = append(errs, validateResourceSource(m.Resource.Name, m.Resource.Target, fldPath.Child("resource"))...)
		}
	}
	if m.ContainerResource != nil {
		if present = append(present, "containerResource"); len(present) == 1 {
			errs = append(errs, validateContainerResourceSource(m.ContainerResource, fldPath.Child("containerResource"))...)
		}
	}
	var expected string
	missing := false
	switch m.Type {
	case autoscalingv2.ObjectMetricSourceType:
		expected, missing = "object", m.Object == nil
	case autoscalingv2.PodsMetricSourceType:
		expected, missing = "pods", m.Pods == nil
	case autoscalingv2.ResourceMetricSourceType:
		expected, missing = "resource", m.Resource == nil
	case autoscalingv2.ExternalMetricSourceType:
		expected, missing = "external", m.External == nil
	case autoscalingv2.ContainerResourceMetricSourceType:
		expected, missing = "containerResource", m.ContainerResource == nil
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("type"), m.Type, metricSourceTypes))
	}
	if missing {
		errs = append(errs, field.Required(fldPath.Child(expected), "must populate information for the given metric source"))
	}
	if len(present) != 1 {
		for _, p := range present {
			if p != expected {
				errs = append(errs, field.Forbidden(fldPath.Child(p), "must populate the given metric source only"))
			}
		}
	}
	return errs
}

func validateObjectSource(src *autoscalingv2.ObjectMetricSource, fldPath *field.Path, opts refOptions) field.ErrorList {
	d := src.DescribedObject
	errs := validateReference(d.Kind, d.Name, d.APIVersion, fldPath.Child("describedObject"), opts)
	errs = append(errs, validateMetricName(src.Metric.Name, fldPath.Child("metric", "name"))...)
	errs = append(errs, validateTarget(&src.Target, fldPath.Child("target"))...)
	if src.Target.Value == nil && src.Target.AverageValue == nil {
		errs = append(errs, field.Required(fldPath.Child("target", "averageValue"), "must set either a target value or averageValue"))
	}
	return errs
}

func validateExternalSource(src *autoscalingv2.ExternalMetricSource, fldPath *field.Path) field.ErrorList {
	errs := validateMetricName(src.Metric.Name, fldPath.Child("metric", "name"))
	errs = append(errs, validateTarget(&src.Target, fldPath.Child("target"))...)
	if src.Target.Value == nil && src.Target.AverageValue == nil {
		errs = append(errs, field.Required(fldPath.Child("target", "averageValue"), "must set either a target value for metric or a per-pod target"))
	}
	if src.Target.Value != nil && src.Target.AverageValue != nil {
		errs = append(errs, field.Forbidden(fldPath.Child("target", "value"), "may not set both a target value for metric and a per-pod target"))
	}
	return errs
}

func validatePodsSource(src *autoscalingv2.PodsMetricSource, fldPath *field.Path) field.ErrorList {
	errs := validateMetricName(src.Metric.Name, fldPath.Child("metric", "name"))
	errs = append(errs, validateTarget(&src.Target, fldPath.Child("target"))...)
	if src.Target.AverageValue == nil {
		errs = append(errs, field.Required(fldPath.Child("target", "averageValue"), "must specify a positive target averageValue"))
	}
	return errs
}

func validateResourceSource(name corev1.ResourceName, target autoscalingv2.MetricTarget, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), "must specify a resource name"))
	}
	return append(errs, validateResourceTarget(&target, fldPath.Child("target"))...)
}

func validateContainerResourceSource(src *autoscalingv2.ContainerResourceMetricSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if src.Name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), "must specify a resource name"))
	} else {
		errs = append(errs, validateContainerResourceName(src.Name, fldPath.Child("name"))...)
	}
	if src.Container == "" {
		errs = append(errs, field.Required(fldPath.Child("container"), "must specify a container"))
	} else {
		for _, msg := range validation.IsDNS1123Label(src.Container) {
			errs = append(errs, field.Invalid(fldPath.Child("container"), src.Container, msg))
		}
	}
	return append(errs, validateResourceTarget(&src.Target, fldPath.Child("target"))...)
}

// validateResourceTarget requires exactly one of a raw average value and
// an average utilization.
func validateResourceTarget(t *autoscalingv2.MetricTarget, fldPath *field.Path) field.ErrorList {
	errs := validateTarget(t, fldPath)
	if t.AverageUtilization == nil && t.AverageValue == nil {
		errs = append(errs, field.Required(fldPath.Child("averageUtilization"), "must set either a target raw value or a target utilization"))
	}
	if t.AverageUtilization != nil && t.AverageValue != nil {
		errs = append(errs, field.Forbidden(fldPath.Child("averageValue"), "may not set both a target raw value and a target utilization"))
	}
	return errs
}

func validateTarget(t *autoscalingv2.MetricTarget, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if t.Type == "" {
		errs = append(errs, field.Required(fldPath.Child("type"), "must specify a metric target type"))
	}
	if t.Type != autoscalingv2.UtilizationMetricType && t.Type != autoscalingv2.ValueMetricType && t.Type != autoscalingv2.AverageValueMetricType {
		errs = append(errs, field.Invalid(fldPath.Child("type"), t.Type, "must be either Utilization, Value, or AverageValue"))
	}
	if t.Value != nil && t.Value.Sign() != 1 {
		errs = append(errs, field.Invalid(fldPath.Child("value"), t.Value, "must be positive"))
	}
	if t.AverageValue != nil && t.AverageValue.Sign() != 1 {
		errs = append(errs, field.Invalid(fldPath.Child("averageValue"), t.AverageValue, "must be positive"))
	}
	if t.AverageUtilization != nil && *t.AverageUtilization < 1 {
		errs = append(errs, field.Invalid(fldPath.Child("averageUtilization"), t.AverageUtilization, "must be greater than 0"))
	}
	return errs
}

func validateMetricName(name string, fldPath *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(fldPath, "must specify a metric name")}
	}
	var errs field.ErrorList
	for _, msg := range content.IsPathSegmentName(name) {
		errs = append(errs, field.Invalid(fldPath, name, msg))
	}
	return errs
}

// standardResources are the unprefixed resource names upstream knows.
var standardResources = []corev1.ResourceName{
	corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage,
	corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory, corev1.ResourceRequestsEphemeralStorage,
	corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory, corev1.ResourceLimitsEphemeralStorage,
	corev1.ResourcePods, corev1.ResourceQuotas, corev1.ResourceServices, corev1.ResourceReplicationControllers,
	corev1.ResourceSecrets, corev1.ResourceConfigMaps, corev1.ResourcePersistentVolumeClaims, corev1.ResourceStorage,
	corev1.ResourceRequestsStorage, corev1.ResourceServicesNodePorts, corev1.ResourceServicesLoadBalancers,
}

// validateContainerResourceName accepts what a container may request:
// cpu, memory, ephemeral-storage, hugepages-<size>, or an extended
// resource such as example.com/gpu.
func validateContainerResourceName(name corev1.ResourceName, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsQualifiedName(string(name)) {
		errs = append(errs, field.Invalid(fldPath, name, msg))
	}
	if len(errs) > 0 {
		return errs
	}
	if !strings.Contains(string(name), "/") {
		standard := slices.Contains(standardResources, name) || podspec.IsHugePages(name) ||
			strings.HasPrefix(string(name), corev1.DefaultResourceRequestsPrefix+corev1.ResourceHugePagesPrefix)
		if !standard {
			errs = append(errs, field.Invalid(fldPath, name, "must be a standard resource type or fully qualified"))
		}
		container := name == corev1.ResourceCPU || name == corev1.ResourceMemory || name == corev1.ResourceEphemeralStorage || podspec.IsHugePages(name)
		if !container {
			errs = append(errs, field.Invalid(fldPath, name, "must be a standard resource for containers"))
		}
		return errs
	}
	if !podspec.IsNativeResource(name) && !podspec.IsExtendedResource(name) {
		errs = append(errs, field.Invalid(fldPath, name, "doesn't follow extended resource name standard"))
	}
	return errs
}

// validateRules checks a scaling direction's rules: a stabilization
// window of at most an hour, a known select policy, and at least one
// policy, each with a positive value and a period of at most 30 minutes.
func validateRules(r *autoscalingv2.HPAScalingRules, fldPath *field.Path) field.ErrorList {
	if r == nil {
		return nil
	}
	var errs field.ErrorList
	if w := r.StabilizationWindowSeconds; w != nil {
		if *w < 0 {
			errs = append(errs, field.Invalid(fldPath.Child("stabilizationWindowSeconds"), *w, "must be greater than or equal to zero"))
		}
		if *w > maxStabilizationWindowSeconds {
			errs = append(errs, field.Invalid(fldPath.Child("stabilizationWindowSeconds"), *w, fmt.Sprintf("must be less than or equal to %v", maxStabilizationWindowSeconds)))
		}
	}
	if r.SelectPolicy != nil && !slices.Contains(selectPolicies, *r.SelectPolicy) {
		errs = append(errs, field.NotSupported(fldPath.Child("selectPolicy"), *r.SelectPolicy, selectPolicies))
	}
	policiesPath := fldPath.Child("policies")
	if len(r.Policies) == 0 {
		errs = append(errs, field.Required(policiesPath, "must specify at least one Policy"))
	}
	for i, p := range r.Policies {
		pp := policiesPath.Index(i)
		if !slices.Contains(policyTypes, p.Type) {
			errs = append(errs, field.NotSupported(pp.Child("type"), p.Type, policyTypes))
		}
		if p.Value <= 0 {
			errs = append(errs, field.Invalid(pp.Child("value"), p.Value, "must be greater than zero"))
		}
		if p.PeriodSeconds <= 0 {
			errs = append(errs, field.Invalid(pp.Child("periodSeconds"), p.PeriodSeconds, "must be greater than zero"))
		}
		if p.PeriodSeconds > maxPeriodSeconds {
			errs = append(errs, field.Invalid(pp.Child("periodSeconds"), p.PeriodSeconds, fmt.Sprintf("must be less than or equal to %v", maxPeriodSeconds)))
		}
	}
	if r.Tolerance != nil && r.Tolerance.Cmp(resource.Quantity{}) < 0 {
		errs = append(errs, field.Invalid(fldPath.Child("tolerance"), r.Tolerance.String(), apimachineryvalidation.IsNegativeErrorMsg))
	}
	return errs
}

// ValidateStatus checks the replica counts and condition generations the
// controller reports.
func ValidateStatus(st *autoscalingv2.HorizontalPodAutoscalerStatus, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, c := range st.Conditions {
		if c.ObservedGeneration != nil {
			errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(*c.ObservedGeneration, fldPath.Child("conditions").Index(i).Child("observedGeneration"))...)
		}
	}
	errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(st.CurrentReplicas), fldPath.Child("currentReplicas"))...)
	return append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(st.DesiredReplicas), fldPath.Child("desiredReplicas"))...)
}
