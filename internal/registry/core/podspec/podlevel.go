package podspec

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	resourcehelper "k8s.io/component-helpers/resource"
)

// DefaultPodLevelResources completes pod-level resources (spec.resources,
// beta and on by default) once the pod's containers are final, as
// upstream does when a pod is created: hugepage limits from the
// containers' limits, requests from the containers' requests (or the pod
// limits), and limits from the containers' limits when every container
// sets one. A spec without pod-level resources is left alone.
func DefaultPodLevelResources(spec *corev1.PodSpec) {
	r := spec.Resources
	if r == nil || (len(r.Requests) == 0 && len(r.Limits) == 0) {
		return
	}
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: spec.Containers, InitContainers: spec.InitContainers}}
	opts := resourcehelper.PodResourcesOptions{}

	// Hugepages cannot be overcommitted: the pod's limit is the sum of
	// the containers' unless the pod asks for a request instead.
	limits := r.Limits
	if limits == nil {
		limits = corev1.ResourceList{}
	}
	for name, q := range resourcehelper.AggregateContainerLimits(pod, opts) {
		if !resourcehelper.IsSupportedPodLevelResource(name) || !IsHugePages(name) {
			continue
		}
		if _, ok := r.Requests[name]; ok {
			continue
		}
		if _, ok := limits[name]; !ok {
			limits[name] = q
		}
	}
	if len(limits) > 0 {
		r.Limits = limits
	}

	requests := r.Requests
	if requests == nil {
		requests = corev1.ResourceList{}
	}
	for name, q := range resourcehelper.AggregateContainerRequests(pod, opts) {
		if _, ok := requests[name]; !ok && resourcehelper.IsSupportedPodLevelResource(name) && IsOvercommitAllowed(name) {
			requests[name] = q
		}
	}
	for name, q := range r.Limits {
		if _, ok := requests[name]; !ok && resourcehelper.IsSupportedPodLevelResource(name) {
			requests[name] = q.DeepCopy()
		}
	}
	if len(requests) > 0 {
		r.Requests = requests
	}

	// A pod-level limit is implied only when every container limits
	// that resource; it is never below the pod's request.
	candidates := sets.New[corev1.ResourceName]()
	for name := range r.Requests {
		if _, ok := r.Limits[name]; !ok && resourcehelper.IsSupportedPodLevelResource(name) {
			candidates.Insert(name)
		}
	}
	for _, list := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for _, c := range list {
			for name := range candidates {
				if _, ok := c.Resources.Limits[name]; !ok {
					candidates.Delete(name)
				}
			}
		}
	}
	if candidates.Len() == 0 {
		return
	}
	aggr := resourcehelper.AggregateContainerLimits(pod, opts)
	for name := range candidates {
		q, ok := aggr[name]
		if !ok {
			continue
		}
		if req := r.Requests[name]; req.Cmp(q) > 0 {
			q = req
		}
		if r.Limits == nil {
			r.Limits = corev1.ResourceList{}
		}
		r.Limits[name] = q
	}
}
