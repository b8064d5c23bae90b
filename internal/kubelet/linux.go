package kubelet

import (
	"path"

	corev1 "k8s.io/api/core/v1"
	resourcehelper "k8s.io/component-helpers/resource"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/kubectl/pkg/util/qos"
)

// Upstream's CFS period and the bounds of its OOM score adjustments.
const (
	cpuPeriod       = 100000
	minShares       = 2
	guaranteedOOM   = -997
	besteffortOOM   = 1000
	minQuota        = 1000
	burstableMinOOM = 2
	burstableMaxOOM = 999
)

// cgroupParent is the pod's cgroup (cgroupfs), by QoS class as upstream:
// <root>/kubepods/pod<uid>, <root>/kubepods/burstable/pod<uid>,
// <root>/kubepods/besteffort/pod<uid>.
func cgroupParent(root string, pod *corev1.Pod) string {
	base := path.Join("/", root, "kubepods")
	switch qos.GetPodQOS(pod) {
	case corev1.PodQOSBurstable:
		base = path.Join(base, "burstable")
	case corev1.PodQOSBestEffort:
		base = path.Join(base, "besteffort")
	}
	return path.Join(base, "pod"+string(pod.UID))
}

// containerResources is a container's requests and limits as cgroup
// settings, as upstream computes them. memCapacity is the node's memory,
// for burstable containers' OOM score.
func containerResources(pod *corev1.Pod, c *corev1.Container, memCapacity int64) *runtimeapi.LinuxContainerResources {
	req, lim := c.Resources.Requests, c.Resources.Limits
	r := linuxResources(req.Cpu().MilliValue(), lim.Cpu().MilliValue(), lim.Memory().Value())
	switch qos.GetPodQOS(pod) {
	case corev1.PodQOSGuaranteed:
		r.OomScoreAdj = guaranteedOOM
	case corev1.PodQOSBestEffort:
		r.OomScoreAdj = besteffortOOM
	default:
		adj := int64(burstableMaxOOM)
		if memCapacity > 0 {
			adj = 1000 - 1000*req.Memory().Value()/memCapacity
		}
		adj = max(burstableMinOOM, min(adj, burstableMaxOOM))
		r.OomScoreAdj = adj
	}
	return r
}

// linuxResources are the cgroup settings of a CPU request and limit (in
// millicores) and a memory limit (in bytes): shares from the request, or
// the limit without one; a CFS quota only with a limit.
func linuxResources(cpuReq, cpuLim, memLim int64) *runtimeapi.LinuxContainerResources {
	r := &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: memLim}
	if cpuReq == 0 {
		cpuReq = cpuLim
	}
	r.CpuShares = max(cpuReq*1024/1000, minShares)
	if cpuLim > 0 {
		r.CpuPeriod = cpuPeriod
		r.CpuQuota = max(cpuLim*cpuPeriod/1000, minQuota)
	}
	return r
}

// sandboxResources are the pod's containers' resources summed, as
// upstream sums them for the sandbox (init containers and pod-level
// resources counted, overhead not): the runtime sizes the pod cgroup
// from them.
func sandboxResources(pod *corev1.Pod) *runtimeapi.LinuxContainerResources {
	opts := resourcehelper.PodResourcesOptions{ExcludeOverhead: true}
	req, lim := resourcehelper.PodRequests(pod, opts), resourcehelper.PodLimits(pod, opts)
	return linuxResources(req.Cpu().MilliValue(), lim.Cpu().MilliValue(), lim.Memory().Value())
}

// overheadResources are spec.overhead (set from the pod's RuntimeClass)
// as cgroup settings, its CPU both request and limit as upstream's.
func overheadResources(pod *corev1.Pod) *runtimeapi.LinuxContainerResources {
	if pod.Spec.Overhead == nil {
		return &runtimeapi.LinuxContainerResources{}
	}
	cpu := pod.Spec.Overhead.Cpu().MilliValue()
	return linuxResources(cpu, cpu, pod.Spec.Overhead.Memory().Value())
}

// Upstream's default masked and read-only paths of /proc and /sys.
var (
	defaultMaskedPaths = []string{"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
		"/sys/firmware", "/sys/devices/virtual/powercap"}
	defaultReadonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
)

// namespaceOptions is the pod's namespace sharing; userns is its user
// namespace (usernsManager.options).
func namespaceOptions(pod *corev1.Pod, userns *runtimeapi.UserNamespace) *runtimeapi.NamespaceOption {
	ns := &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_POD, Pid: runtimeapi.NamespaceMode_CONTAINER, Ipc: runtimeapi.NamespaceMode_POD,
		UsernsOptions: userns}
	if pod.Spec.HostNetwork {
		ns.Network = runtimeapi.NamespaceMode_NODE
	}
	if pod.Spec.ShareProcessNamespace != nil && *pod.Spec.ShareProcessNamespace {
		ns.Pid = runtimeapi.NamespaceMode_POD
	}
	if pod.Spec.HostPID {
		ns.Pid = runtimeapi.NamespaceMode_NODE
	}
	if pod.Spec.HostIPC {
		ns.Ipc = runtimeapi.NamespaceMode_NODE
	}
	return ns
}

func seccomp(pod, c *corev1.SeccompProfile) *runtimeapi.SecurityProfile {
	p := c
	if p == nil {
		p = pod
	}
	if p == nil {
		return &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Unconfined}
	}
	switch p.Type {
	case corev1.SeccompProfileTypeRuntimeDefault:
		return &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault}
	case corev1.SeccompProfileTypeLocalhost:
		ref := ""
		if p.LocalhostProfile != nil {
			ref = *p.LocalhostProfile
		}
		return &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Localhost, LocalhostRef: ref}
	}
	return &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Unconfined}
}

// securityContext merges the pod's and the container's security
// contexts into the CRI's, as upstream.
func securityContext(pod *corev1.Pod, c *corev1.Container) *runtimeapi.LinuxContainerSecurityContext {
	psc := pod.Spec.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	csc := c.SecurityContext
	if csc == nil {
		csc = &corev1.SecurityContext{}
	}
	sc := &runtimeapi.LinuxContainerSecurityContext{
		// The user namespace is the sandbox's: containerConfig sets it.
		NamespaceOptions: namespaceOptions(pod, nil),
		Seccomp:          seccomp(psc.SeccompProfile, csc.SeccompProfile),
		Privileged:       csc.Privileged != nil && *csc.Privileged,
		ReadonlyRootfs:   csc.ReadOnlyRootFilesystem != nil && *csc.ReadOnlyRootFilesystem,
		NoNewPrivs:       csc.AllowPrivilegeEscalation != nil && !*csc.AllowPrivilegeEscalation,
	}
	if csc.Capabilities != nil {
		sc.Capabilities = &runtimeapi.Capability{}
		for _, a := range csc.Capabilities.Add {
			sc.Capabilities.AddCapabilities = append(sc.Capabilities.AddCapabilities, string(a))
		}
		for _, d := range csc.Capabilities.Drop {
			sc.Capabilities.DropCapabilities = append(sc.Capabilities.DropCapabilities, string(d))
		}
	}
	uid := csc.RunAsUser
	if uid == nil {
		uid = psc.RunAsUser
	}
	if uid != nil {
		sc.RunAsUser = &runtimeapi.Int64Value{Value: *uid}
	}
	gid := csc.RunAsGroup
	if gid == nil {
		gid = psc.RunAsGroup
	}
	if gid != nil {
		sc.RunAsGroup = &runtimeapi.Int64Value{Value: *gid}
	}
	sc.SupplementalGroups = append(sc.SupplementalGroups, psc.SupplementalGroups...)
	if psc.FSGroup != nil {
		sc.SupplementalGroups = append(sc.SupplementalGroups, *psc.FSGroup)
	}
	unmasked := csc.ProcMount != nil && *csc.ProcMount == corev1.UnmaskedProcMount
	if !sc.Privileged && !unmasked {
		sc.MaskedPaths = defaultMaskedPaths
		sc.ReadonlyPaths = defaultReadonlyPaths
	}
	return sc
}

// runAsNonRootError is upstream's check of runAsNonRoot against a known
// user; "" when it passes or cannot be decided here.
func runAsNonRootError(pod *corev1.Pod, c *corev1.Container) string {
	nonRoot := c.SecurityContext != nil && c.SecurityContext.RunAsNonRoot != nil && *c.SecurityContext.RunAsNonRoot
	if !nonRoot && pod.Spec.SecurityContext != nil && pod.Spec.SecurityContext.RunAsNonRoot != nil {
		nonRoot = *pod.Spec.SecurityContext.RunAsNonRoot
	}
	if !nonRoot {
		return ""
	}
	sc := securityContext(pod, c)
	if sc.RunAsUser != nil && sc.RunAsUser.Value == 0 {
		return "container's runAsUser breaks non-root policy (pod: \"" + pod.Name + "_" + pod.Namespace + "(" + string(pod.UID) + ")\", container: " + c.Name + ")"
	}
	return ""
}
