package framework

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	resourcehelper "k8s.io/component-helpers/resource"
)

// Defaults the scoring of a container without requests assumes, so that
// best-effort pods do not all land on one node (upstream's
// DefaultMilliCPURequest and DefaultMemoryRequest).
const (
	DefaultMilliCPURequest int64 = 100
	DefaultMemoryRequest   int64 = 200 * 1024 * 1024
)

// Resource is an amount of every resource the scheduler counts.
type Resource struct {
	MilliCPU         int64
	Memory           int64
	EphemeralStorage int64
	// AllowedPodNumber is the node's pod capacity (allocatable "pods").
	AllowedPodNumber int64
	// Scalar holds extended resources, hugepages and other countable
	// resources, by name; nil when there are none.
	Scalar map[corev1.ResourceName]int64
}

// NewResource converts a resource list.
func NewResource(rl corev1.ResourceList) Resource {
	var r Resource
	for name, q := range rl {
		r.set(name, q)
	}
	return r
}

func (r *Resource) set(name corev1.ResourceName, q resource.Quantity) {
	switch name {
	case corev1.ResourceCPU:
		r.MilliCPU = q.MilliValue()
	case corev1.ResourceMemory:
		r.Memory = q.Value()
	case corev1.ResourceEphemeralStorage:
		r.EphemeralStorage = q.Value()
	case corev1.ResourcePods:
		r.AllowedPodNumber = q.Value()
	default:
		if IsScalarResourceName(name) {
			if r.Scalar == nil {
				r.Scalar = map[corev1.ResourceName]int64{}
			}
			r.Scalar[name] = q.Value()
		}
	}
}

// Add adds o to r.
func (r *Resource) Add(o *Resource) {
	r.MilliCPU += o.MilliCPU
	r.Memory += o.Memory
	r.EphemeralStorage += o.EphemeralStorage
	r.AllowedPodNumber += o.AllowedPodNumber
	for name, v := range o.Scalar {
		if r.Scalar == nil {
			r.Scalar = map[corev1.ResourceName]int64{}
		}
		r.Scalar[name] += v
	}
}

// Sub subtracts o from r.
func (r *Resource) Sub(o *Resource) {
	r.MilliCPU -= o.MilliCPU
	r.Memory -= o.Memory
	r.EphemeralStorage -= o.EphemeralStorage
	r.AllowedPodNumber -= o.AllowedPodNumber
	for name, v := range o.Scalar {
		if r.Scalar == nil {
			r.Scalar = map[corev1.ResourceName]int64{}
		}
		r.Scalar[name] -= v
	}
}

// Clone returns a copy that shares nothing with r.
func (r Resource) Clone() Resource {
	if r.Scalar != nil {
		s := make(map[corev1.ResourceName]int64, len(r.Scalar))
		for k, v := range r.Scalar {
			s[k] = v
		}
		r.Scalar = s
	}
	return r
}

// IsZero is true when r asks for nothing.
func (r *Resource) IsZero() bool {
	if r.MilliCPU != 0 || r.Memory != 0 || r.EphemeralStorage != 0 {
		return false
	}
	for _, v := range r.Scalar {
		if v != 0 {
			return false
		}
	}
	return true
}

// IsScalarResourceName is upstream's test for the resources counted by
// name: extended resources (example.com/gpu), hugepages-*, native
// resources with a kubernetes.io/ prefix and attachable-volumes-*.
func IsScalarResourceName(name corev1.ResourceName) bool {
	s := string(name)
	return IsExtendedResourceName(name) ||
		strings.HasPrefix(s, corev1.ResourceHugePagesPrefix) ||
		strings.Contains(s, corev1.ResourceDefaultNamespacePrefix) ||
		strings.HasPrefix(s, corev1.ResourceAttachableVolumesPrefix)
}

// IsExtendedResourceName is true for names with a domain outside
// kubernetes.io ("example.com/gpu") that would make a valid quota name.
func IsExtendedResourceName(name corev1.ResourceName) bool {
	s := string(name)
	if !strings.Contains(s, "/") || strings.Contains(s, corev1.ResourceDefaultNamespacePrefix) ||
		strings.HasPrefix(s, corev1.DefaultResourceRequestsPrefix) {
		return false
	}
	return len(validation.IsQualifiedName(corev1.DefaultResourceRequestsPrefix+s)) == 0
}

// podRequests is what a pod reserves on its node, as upstream's
// NodeResourcesFit counts it: the larger of the containers' sum and each
// init container (sidecars included), pod-level requests when set, plus
// the pod overhead.
func podRequests(pod *corev1.Pod) Resource {
	return NewResource(resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{UseStatusResources: true}))
}

// podNonZeroRequests is podRequests with containers that set no cpu or
// memory request counted as DefaultMilliCPURequest and
// DefaultMemoryRequest: what least-allocated scoring counts.
func podNonZeroRequests(pod *corev1.Pod, requests Resource) (milliCPU, memory int64) {
	if requestsCPUAndMemory(pod) {
		// No default stands in for anything: the same sums.
		return requests.MilliCPU, requests.Memory
	}
	rl := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{
		UseStatusResources: true,
		NonMissingContainerRequests: corev1.ResourceList{
			corev1.ResourceCPU:    *resource.NewMilliQuantity(DefaultMilliCPURequest, resource.DecimalSI),
			corev1.ResourceMemory: *resource.NewQuantity(DefaultMemoryRequest, resource.DecimalSI),
		},
	})
	return rl.Cpu().MilliValue(), rl.Memory().Value()
}

// requestsCPUAndMemory is true when every container of a pod whose
// resources were never resized asks for both cpu and memory.
func requestsCPUAndMemory(pod *corev1.Pod) bool {
	if len(pod.Status.ContainerStatuses)+len(pod.Status.InitContainerStatuses) > 0 {
		return false
	}
	for _, cs := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for i := range cs {
			r := cs[i].Resources.Requests
			if _, ok := r[corev1.ResourceCPU]; !ok {
				return false
			}
			if _, ok := r[corev1.ResourceMemory]; !ok {
				return false
			}
		}
	}
	return true
}
