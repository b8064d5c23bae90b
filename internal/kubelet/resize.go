package kubelet

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// In-place pod resize, the kubelet's half (the API's is pods/resize):
// the spec's new resources become the pod's allocation when the node has
// room for them (DecideResize), then the running containers are brought
// to the allocation, in place or by a restart where a container's
// resizePolicy asks for one (PlanResize). The pod reports where it is
// with the conditions PodResizePending (reason Deferred or Infeasible)
// and PodResizeInProgress, and with each container's allocatedResources
// and resources.

// ResizeInput is what a pod's resize is decided from.
type ResizeInput struct {
	Pod       *corev1.Pod // as the API has it
	Allocated Allocation  // what the kubelet gave the pod so far
	// Others are the node's other pods that run or will, with their
	// allocations applied.
	Others []*corev1.Pod
	Node   *corev1.Node
}

// ResizeDecision is the outcome: Accept, or the reason (Deferred,
// Infeasible) and message of the pending resize; all zero when the spec
// asks for what the pod has.
type ResizeDecision struct {
	Accept          bool
	Reason, Message string
}

// DecideResize is upstream's allocation manager's handling of a resize:
// the new resources are accepted when they fit beside the other pods'
// allocations; otherwise the resize waits (Deferred) for room.
func DecideResize(in ResizeInput) ResizeDecision {
	if allocationOf(in.Pod).Equal(in.Allocated) {
		return ResizeDecision{}
	}
	if isStaticPod(in.Pod) {
		return ResizeDecision{Reason: corev1.PodReasonInfeasible, Message: "In-place resize of static-pods is not supported"}
	}
	if in.Node == nil {
		return ResizeDecision{Reason: corev1.PodReasonDeferred, Message: "node not registered yet"}
	}
	if r := admitResources(in.Pod, in.Others, in.Node); r != nil {
		return ResizeDecision{Reason: corev1.PodReasonDeferred, Message: r.Message}
	}
	return ResizeDecision{Accept: true}
}

// ContainerUpdate is a running container's new cgroup settings.
type ContainerUpdate struct {
	ID, Name  string
	Resources *runtimeapi.LinuxContainerResources
}

// ResizePlan brings a pod's running containers to its allocation.
type ResizePlan struct {
	// Update are changed in place (UpdateContainerResources).
	Update []ContainerUpdate
	// Restart maps a container ID to the kill message of a container
	// restarted because its resizePolicy says so.
	Restart map[string]string
}

// Empty: every running container has its allocation.
func (p ResizePlan) Empty() bool { return len(p.Update) == 0 && len(p.Restart) == 0 }

// PlanResize compares each running container of the current sandbox with
// the cgroup settings its allocation gives (allocated is the pod with its
// allocation applied). Containers that do not run start with their
// allocation anyway.
func PlanResize(allocated *corev1.Pod, state PodState, memCapacity int64) ResizePlan {
	var plan ResizePlan
	sb := state.readySandbox()
	if sb == nil {
		return plan
	}
	for _, list := range [][]corev1.Container{allocated.Spec.InitContainers, allocated.Spec.Containers} {
		for i := range list {
			c := &list[i]
			cs := state.latest(c.Name, sb.Id)
			if !runningState(cs) || cs.GetResources().GetLinux() == nil {
				continue
			}
			want := containerResources(allocated, c, memCapacity)
			cpu, mem := cgroupChanges(cs.Resources.Linux, want)
			switch {
			case !cpu && !mem:
			case cpu && restartFor(c, corev1.ResourceCPU) || mem && restartFor(c, corev1.ResourceMemory):
				if plan.Restart == nil {
					plan.Restart = map[string]string{}
				}
				plan.Restart[cs.Id] = fmt.Sprintf("Container %s resize requires restart", c.Name)
			default:
				plan.Update = append(plan.Update, ContainerUpdate{ID: cs.Id, Name: c.Name, Resources: want})
			}
		}
	}
	return plan
}

// cgroupChanges says whether the CPU settings (shares, quota, period)
// and the memory ones (limit; the OOM score, which follows the memory
// request) differ.
func cgroupChanges(have, want *runtimeapi.LinuxContainerResources) (cpu, mem bool) {
	cpu = have.CpuShares != want.CpuShares || have.CpuQuota != want.CpuQuota || have.CpuPeriod != want.CpuPeriod
	mem = have.MemoryLimitInBytes != want.MemoryLimitInBytes || have.OomScoreAdj != want.OomScoreAdj
	return cpu, mem
}

// restartFor: the container's resizePolicy for the resource says
// RestartContainer (the default is NotRequired).
func restartFor(c *corev1.Container, name corev1.ResourceName) bool {
	for _, p := range c.ResizePolicy {
		if p.ResourceName == name {
			return p.RestartPolicy == corev1.RestartContainer
		}
	}
	return false
}

// actualResources is what a running container reports as its resources
// (ContainerStatus.resources): its limits read back from the runtime's
// cgroup settings, its requests those allocated (a CPU request from the
// shares when they say otherwise).
func actualResources(allocated *corev1.Container, cs *runtimeapi.ContainerStatus) *corev1.ResourceRequirements {
	out := &corev1.ResourceRequirements{}
	lin := cs.GetResources().GetLinux()
	if req := allocated.Resources.Requests; len(req) > 0 {
		out.Requests = corev1.ResourceList{}
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if q, ok := req[name]; ok {
				out.Requests[name] = q.DeepCopy()
			}
		}
		if q, ok := req[corev1.ResourceCPU]; ok && lin != nil && lin.CpuShares != max(q.MilliValue()*1024/1000, minShares) {
			out.Requests[corev1.ResourceCPU] = *resource.NewMilliQuantity(lin.CpuShares*1000/1024, resource.DecimalSI)
		}
	}
	lim := allocated.Resources.Limits
	if _, ok := lim[corev1.ResourceCPU]; ok && lin != nil && lin.CpuQuota > 0 && lin.CpuPeriod > 0 {
		setLimit(out, corev1.ResourceCPU, *resource.NewMilliQuantity(lin.CpuQuota*1000/lin.CpuPeriod, resource.DecimalSI))
	} else if q, ok := lim[corev1.ResourceCPU]; ok {
		setLimit(out, corev1.ResourceCPU, q.DeepCopy())
	}
	if _, ok := lim[corev1.ResourceMemory]; ok && lin != nil && lin.MemoryLimitInBytes > 0 {
		setLimit(out, corev1.ResourceMemory, *resource.NewQuantity(lin.MemoryLimitInBytes, resource.BinarySI))
	} else if q, ok := lim[corev1.ResourceMemory]; ok {
		setLimit(out, corev1.ResourceMemory, q.DeepCopy())
	}
	return out
}

func setLimit(r *corev1.ResourceRequirements, name corev1.ResourceName, q resource.Quantity) {
	if r.Limits == nil {
		r.Limits = corev1.ResourceList{}
	}
	r.Limits[name] = q
}

// resizeEventMessage is upstream's resize event text: a prefix, then the
// resources the spec asks for, the generation and any error, as JSON.
func resizeEventMessage(prefix string, pod *corev1.Pod, errMsg string) string {
	type container struct {
		Name      string                      `json:"name"`
		Resources corev1.ResourceRequirements `json:"resources,omitempty"`
	}
	summary := struct {
		InitContainers []container `json:"initContainers,omitempty"`
		Containers     []container `json:"containers,omitempty"`
		Generation     int64       `json:"generation"`
		Error          string      `json:"error,omitempty"`
	}{Generation: pod.Generation, Error: errMsg}
	for _, c := range pod.Spec.InitContainers {
		summary.InitContainers = append(summary.InitContainers, container{c.Name, c.Resources})
	}
	for _, c := range pod.Spec.Containers {
		summary.Containers = append(summary.Containers, container{c.Name, c.Resources})
	}
	b, err := json.Marshal(summary)
	if err != nil {
		return prefix
	}
	return prefix + ": " + string(b)
}
