package pod

import (
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/validation/field"
	resourcehelper "k8s.io/component-helpers/resource"

	"github.com/kemudi/kemudi/internal/registry/core/podspec"
)

// The pods/resize subresource (in-place pod vertical scaling, GA since
// 1.35) is an update of the whole pod of which only the containers' and
// init containers' resources and resizePolicy, and the pod-level
// resources, count. The kubelet then decides whether the node can give
// the pod what it asks and applies it to the running containers.

// PrepareForResize keeps everything of old but the new resources and
// resize policies; generation moves when they change.
func PrepareForResize(pod, old *corev1.Pod) {
	// Containers added, removed, renamed or reordered: validation refuses
	// the whole request, so nothing is dropped here.
	if len(pod.Spec.Containers) != len(old.Spec.Containers) || len(pod.Spec.InitContainers) != len(old.Spec.InitContainers) {
		return
	}
	containers, ok := keepResizeFields(pod.Spec.Containers, old.Spec.Containers)
	if !ok {
		return
	}
	inits, ok := keepResizeFields(pod.Spec.InitContainers, old.Spec.InitContainers)
	if !ok {
		return
	}
	podResources := pod.Spec.Resources
	if podResources == nil && old.Spec.Resources != nil {
		// A client that does not know pod-level resources dropped them.
		podResources = old.Spec.Resources
	}
	pod.Spec = *old.Spec.DeepCopy()
	pod.Spec.Containers, pod.Spec.InitContainers = containers, inits
	pod.Spec.Resources = podResources.DeepCopy()
	pod.Status = *old.Status.DeepCopy()
	pod.Labels, pod.Annotations = old.Labels, old.Annotations
	pod.OwnerReferences, pod.Finalizers = old.OwnerReferences, old.Finalizers
	podspec.DropDisabledFields(&pod.Spec, &old.Spec)
	if !apiequality.Semantic.DeepEqual(pod.Spec, old.Spec) {
		pod.Generation = old.Generation + 1
	}
}

// keepResizeFields is old's containers with new's resources and resize
// policies; false when a name differs (validation then refuses).
func keepResizeFields(containers, old []corev1.Container) ([]corev1.Container, bool) {
	out := make([]corev1.Container, len(old))
	for i := range old {
		if containers[i].Name != old[i].Name {
			return nil, false
		}
		out[i] = *old[i].DeepCopy()
		out[i].Resources = *containers[i].Resources.DeepCopy()
		out[i].ResizePolicy = containers[i].ResizePolicy
	}
	return out, true
}

// ValidateResize checks a resize as upstream's ValidatePodResize: the
// pod stays valid, its QoS class does not change, containers keep their
// names and order, no request or limit goes away, and only cpu and memory
// change.
func ValidateResize(pod, old *corev1.Pod) field.ErrorList {
	errs := validateMetadataAndSpec(pod)
	errs = append(errs, validateAnnotationUpdates(pod, old, field.NewPath("metadata", "annotations"))...)
	if _, mirror := old.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return field.ErrorList{field.Forbidden(field.NewPath(""), "static pods cannot be resized")}
	}
	if old.Spec.OS != nil && old.Spec.OS.Name == corev1.Windows {
		return field.ErrorList{field.Forbidden(field.NewPath(""), "windows pods cannot be resized")}
	}
	spec := field.NewPath("spec")
	oldQOS := old.Status.QOSClass
	if oldQOS == "" {
		oldQOS = QOSClass(old)
	}
	if QOSClass(pod) != oldQOS {
		errs = append(errs, field.Invalid(spec, pod.Status.QOSClass, "Pod QOS Class may not change as a result of resizing"))
	}
	if !nodeSupportsResize(old) {
		errs = append(errs, field.Forbidden(spec, "Pod running on node without support for resize"))
	}
	munged := pod.Spec.DeepCopy()
	if resourcehelper.IsPodLevelResourcesSet(old) || resourcehelper.IsPodLevelResourcesSet(pod) {
		errs = append(errs, validatePodLevelResize(pod, old, munged, spec)...)
	}
	if orderErrs := validateResizeOrder(pod, old, spec); len(orderErrs) > 0 {
		return append(errs, orderErrs...)
	}
	for i := range old.Spec.InitContainers {
		p := spec.Child("initContainers").Index(i).Child("resources")
		errs = append(errs, validateNoRemovedResources(&pod.Spec.InitContainers[i].Resources, &old.Spec.InitContainers[i].Resources, p)...)
	}
	for i := range old.Spec.Containers {
		p := spec.Child("containers").Index(i).Child("resources")
		errs = append(errs, validateNoRemovedResources(&pod.Spec.Containers[i].Resources, &old.Spec.Containers[i].Resources, p)...)
	}
	for i := range munged.Containers {
		c := &munged.Containers[i]
		keepOldCPUMemory(&c.Resources, &old.Spec.Containers[i].Resources)
		if !apiequality.Semantic.DeepEqual(*c, old.Spec.Containers[i]) {
			errs = append(errs, field.Forbidden(spec, "only cpu and memory resources are mutable"))
		}
	}
	for i := range munged.InitContainers {
		c, o := &munged.InitContainers[i], &old.Spec.InitContainers[i]
		changed := !apiequality.Semantic.DeepEqual(*c, *o)
		keepOldCPUMemory(&c.Resources, &o.Resources)
		p := spec.Child("initContainers").Index(i)
		if !apiequality.Semantic.DeepEqual(*c, *o) {
			errs = append(errs, field.Forbidden(p, "only cpu and memory resources for init or sidecar containers are mutable"))
		}
		if changed && !isRestartable(c) {
			for _, rp := range c.ResizePolicy {
				if rp.RestartPolicy == corev1.RestartContainer {
					errs = append(errs, field.Forbidden(p, "non-sidecar init containers with a resize policy of RestartContainer cannot be resized"))
				}
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	if !apiequality.Semantic.DeepEqual(*munged, old.Spec) {
		errs = append(errs, field.Forbidden(spec, "only cpu and memory resources are mutable"))
	}
	return errs
}

func isRestartable(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// nodeSupportsResize: a kubelet that can resize reports the resources of
// its running containers; a pod with no running container is given the
// benefit of the doubt, as upstream.
func nodeSupportsResize(pod *corev1.Pod) bool {
	for _, c := range pod.Status.ContainerStatuses {
		if c.State.Running != nil {
			return c.Resources != nil
		}
	}
	return true
}

// validateResizeOrder: containers may not be added, removed, renamed or
// reordered by a resize.
func validateResizeOrder(pod, old *corev1.Pod, spec *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, l := range []struct {
		name     string
		now, was []corev1.Container
	}{{"containers", pod.Spec.Containers, old.Spec.Containers}, {"initContainers", pod.Spec.InitContainers, old.Spec.InitContainers}} {
		p := spec.Child(l.name)
		if len(l.now) != len(l.was) {
			errs = append(errs, field.Forbidden(p, l.name+" may not be added or removed on resize"))
			continue
		}
		for i := range l.was {
			if l.now[i].Name != l.was[i].Name {
				errs = append(errs, field.Forbidden(p.Index(i).Child("name"), l.name+" may not be renamed or reordered on resize"))
			}
		}
	}
	return errs
}

func validateNoRemovedResources(r, old *corev1.ResourceRequirements, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if removed(r.Requests, old.Requests) {
		errs = append(errs, field.Forbidden(p.Child("requests"), "resource requests cannot be removed"))
	}
	if removed(r.Limits, old.Limits) {
		errs = append(errs, field.Forbidden(p.Child("limits"), "resource limits cannot be removed"))
	}
	return errs
}

func removed(l, old corev1.ResourceList) bool {
	for name := range old {
		if _, ok := l[name]; !ok {
			return true
		}
	}
	return false
}

// validatePodLevelResize checks the pod-level resources of a resize
// (InPlacePodLevelResourcesVerticalScaling, on by default since 1.36) and
// puts their old cpu and memory back into munged.
func validatePodLevelResize(pod, old *corev1.Pod, munged *corev1.PodSpec, spec *field.Path) field.ErrorList {
	p := spec.Child("resources")
	if old.Spec.Resources != nil && pod.Spec.Resources == nil {
		return field.ErrorList{field.Forbidden(p, "pod-level resources cannot be removed")}
	}
	var errs field.ErrorList
	if o := old.Spec.Resources; o != nil {
		if removed(pod.Spec.Resources.Requests, o.Requests) {
			errs = append(errs, field.Forbidden(p.Child("requests"), "pod-level resource requests cannot be removed"))
		}
		if removed(pod.Spec.Resources.Limits, o.Limits) {
			errs = append(errs, field.Forbidden(p.Child("limits"), "pod-level resource limits cannot be removed"))
		}
	}
	if munged.Resources != nil {
		oldRes := old.Spec.Resources
		if oldRes == nil {
			oldRes = &corev1.ResourceRequirements{}
		}
		keepOldCPUMemory(munged.Resources, oldRes)
		if old.Spec.Resources == nil && len(munged.Resources.Requests) == 0 && len(munged.Resources.Limits) == 0 && len(munged.Resources.Claims) == 0 {
			munged.Resources = nil
		}
	}
	if !apiequality.Semantic.DeepEqual(munged.Resources, old.Spec.Resources) {
		errs = append(errs, field.Forbidden(spec, "only cpu and memory resources are mutable at pod-level"))
	}
	return errs
}

// keepOldCPUMemory puts old's cpu and memory (or their absence) back into
// r, so that what remains different is a change a resize may not make.
func keepOldCPUMemory(r, old *corev1.ResourceRequirements) {
	r.Requests = withOldCPUMemory(r.Requests, old.Requests)
	r.Limits = withOldCPUMemory(r.Limits, old.Limits)
}

func withOldCPUMemory(l, old corev1.ResourceList) corev1.ResourceList {
	if l == nil && old == nil {
		return nil
	}
	out := corev1.ResourceList{}
	for k, v := range l {
		if k != corev1.ResourceCPU && k != corev1.ResourceMemory {
			out[k] = v
		}
	}
	for _, k := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if v, ok := old[k]; ok {
			out[k] = v
		}
	}
	return out
}
