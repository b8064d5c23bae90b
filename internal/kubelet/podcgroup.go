package kubelet

import (
	"fmt"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/manager"
	corev1 "k8s.io/api/core/v1"
	resourcehelper "k8s.io/component-helpers/resource"
	"k8s.io/kubectl/pkg/util/qos"
)

// podCgroupLimits are the pod cgroup's settings; zero is unset.
type podCgroupLimits struct {
	CPUShares uint64
	CPUQuota  int64
	CPUPeriod uint64
	Memory    int64
}

// podCgroupFor is what upstream's pod container manager gives the pod's
// cgroup: CPU shares from the requests, and the CPU quota and memory
// limit as the sums of the limits, each only when every container sets
// that limit (always for Guaranteed pods); the overhead is counted in
// all of them. A BestEffort pod gets the least shares and no limits.
func podCgroupFor(pod *corev1.Pod) podCgroupLimits {
	req := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})
	lim := resourcehelper.PodLimits(pod, resourcehelper.PodResourcesOptions{})
	shares := uint64(max(req.Cpu().MilliValue()*1024/1000, minShares))
	var quota int64
	if l := lim.Cpu().MilliValue(); l > 0 {
		quota = max(l*cpuPeriod/1000, minQuota)
	}
	cpuAll, memAll := everyContainerLimits(pod)
	out := podCgroupLimits{CPUShares: shares}
	switch qos.GetPodQOS(pod) {
	case corev1.PodQOSGuaranteed:
		out.CPUQuota, out.CPUPeriod, out.Memory = quota, cpuPeriod, lim.Memory().Value()
	case corev1.PodQOSBurstable:
		if cpuAll {
			out.CPUQuota, out.CPUPeriod = quota, cpuPeriod
		}
		if memAll {
			out.Memory = lim.Memory().Value()
		}
	default:
		out = podCgroupLimits{CPUShares: minShares}
	}
	return out
}

// everyContainerLimits says whether every container (init ones too)
// sets a CPU limit, and a memory limit; pod-level limits count for all.
func everyContainerLimits(pod *corev1.Pod) (cpu, mem bool) {
	cpu, mem = true, true
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range list {
			cpu = cpu && !c.Resources.Limits.Cpu().IsZero()
			mem = mem && !c.Resources.Limits.Memory().IsZero()
		}
	}
	if r := pod.Spec.Resources; r != nil {
		cpu = cpu || !r.Limits.Cpu().IsZero()
		mem = mem || !r.Limits.Memory().IsZero()
	}
	return cpu, mem
}

// ensurePodCgroup makes the pod's cgroup in every hierarchy and sets its
// limits, before the runtime puts the sandbox and containers under it,
// as upstream's kubelet does with the cgroupfs driver.
func (k *Kubelet) ensurePodCgroup(pod *corev1.Pod) error {
	return k.setPodCgroup(pod, podCgroupFor(pod))
}

// setPodCgroup makes the pod's cgroup if need be and gives it l; a CPU
// quota or memory limit l does not set is lifted.
func (k *Kubelet) setPodCgroup(pod *corev1.Pod, l podCgroupLimits) error {
	path := cgroupParent(k.opts.CgroupRoot, pod)
	res := &cgroups.Resources{
		SkipDevices: true,
		CpuShares:   l.CPUShares, CpuQuota: l.CPUQuota, CpuPeriod: l.CPUPeriod, Memory: l.Memory,
	}
	if res.CpuQuota == 0 {
		res.CpuQuota = -1
	}
	if res.Memory == 0 {
		res.Memory = -1
	}
	m, err := manager.New(&cgroups.Cgroup{Path: path, Resources: res})
	if err == nil {
		err = m.Apply(-1)
	}
	if err == nil {
		err = m.Set(res)
	}
	if err != nil {
		return fmt.Errorf("pod cgroup %s: %w", path, err)
	}
	return nil
}
