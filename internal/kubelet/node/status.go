package node

import (
	"fmt"
	"net"
	"runtime"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Upstream's hard eviction defaults, which also come off allocatable.
const (
	evictionMemory   = 100 << 20 // memory.available<100Mi
	evictionFsPct    = 10        // nodefs.available<10%
	pidPressurePct   = 10        // pressure when fewer than 10% of pid_max are free
	maxImagesInState = 50        // upstream's --node-status-max-images
)

// Facts is everything the node's status is computed from.
type Facts struct {
	Machine        Machine
	Info           Info
	KubeletVersion string
	MaxPods        int64
	KubeReserved   corev1.ResourceList
	SystemReserved corev1.ResourceList
	Addresses      []corev1.NodeAddress
	KubeletPort    int32
	// RuntimeVersion is "<name>://<version>"; RuntimeErr is why the
	// runtime could not be asked, else RuntimeStatus is its answer.
	RuntimeVersion string
	RuntimeStatus  *runtimeapi.RuntimeStatus
	RuntimeErr     error
	// RuntimeHandlers are the handlers the runtime reported with its
	// status (nil when it could not be asked).
	RuntimeHandlers []*runtimeapi.RuntimeHandler
	Images          []*runtimeapi.Image
	// Pressure, when set, are the conditions under pressure as the
	// kubelet's eviction manager found them (the others are False); nil
	// judges from Machine with upstream's default thresholds.
	Pressure map[corev1.NodeConditionType]bool
	// EvictionReserve, when set, is what the hard eviction thresholds
	// take off allocatable; nil takes upstream's defaults.
	EvictionReserve corev1.ResourceList
	// VolumesInUse are the attachable volumes the node's pods use
	// (sorted): the attach/detach controller detaches none of them.
	VolumesInUse []corev1.UniqueVolumeName
}

// Capacity is the machine's capacity as a node reports it.
func Capacity(m Machine, maxPods int64) corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewQuantity(int64(m.CPUs), resource.DecimalSI),
		corev1.ResourceMemory:           *resource.NewQuantity(m.MemoryTotal, resource.BinarySI),
		corev1.ResourceEphemeralStorage: *resource.NewQuantity(m.FsTotal, resource.BinarySI),
		corev1.ResourcePods:             *resource.NewQuantity(maxPods, resource.DecimalSI),
		"hugepages-1Gi":                 *resource.NewQuantity(0, resource.BinarySI),
		"hugepages-2Mi":                 *resource.NewQuantity(0, resource.BinarySI),
	}
}

// Allocatable is capacity minus the reservations and the hard eviction
// thresholds, as upstream computes it (never below zero).
func Allocatable(capacity, kubeReserved, systemReserved corev1.ResourceList) corev1.ResourceList {
	return AllocatableWith(capacity, kubeReserved, systemReserved, nil)
}

// AllocatableWith is Allocatable with the hard eviction thresholds
// given as quantities (nil: upstream's defaults).
func AllocatableWith(capacity, kubeReserved, systemReserved, evictionReserve corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	for name, q := range capacity {
		v := q.DeepCopy()
		for _, r := range []corev1.ResourceList{kubeReserved, systemReserved} {
			if rq, ok := r[name]; ok {
				v.Sub(rq)
			}
		}
		switch {
		case evictionReserve != nil:
			if rq, ok := evictionReserve[name]; ok {
				v.Sub(rq)
			}
		case name == corev1.ResourceMemory:
			v.Sub(*resource.NewQuantity(evictionMemory, resource.BinarySI))
		case name == corev1.ResourceEphemeralStorage:
			v.Sub(*resource.NewQuantity(q.Value()*evictionFsPct/100, resource.BinarySI))
		}
		if v.Sign() < 0 {
			v = *resource.NewQuantity(0, q.Format)
		}
		out[name] = v
	}
	return out
}

// ComputeStatus is the node status the facts give. prev is the status
// last reported: a condition whose status did not change keeps its
// transition time.
func ComputeStatus(f Facts, prev corev1.NodeStatus, now metav1.Time) corev1.NodeStatus {
	capacity := Capacity(f.Machine, f.MaxPods)
	st := corev1.NodeStatus{
		Capacity:    capacity,
		Allocatable: AllocatableWith(capacity, f.KubeReserved, f.SystemReserved, f.EvictionReserve),
		Phase:       "",
		Addresses:   f.Addresses,
		NodeInfo: corev1.NodeSystemInfo{
			MachineID:               f.Info.MachineID,
			SystemUUID:              f.Info.SystemUUID,
			BootID:                  f.Info.BootID,
			KernelVersion:           f.Info.KernelVersion,
			OSImage:                 f.Info.OSImage,
			ContainerRuntimeVersion: f.RuntimeVersion,
			KubeletVersion:          f.KubeletVersion,
			OperatingSystem:         runtime.GOOS,
			Architecture:            runtime.GOARCH,
		},
		Images:          images(f.Images),
		RuntimeHandlers: runtimeHandlers(f.RuntimeHandlers, prev.RuntimeHandlers),
		DaemonEndpoints: prev.DaemonEndpoints,
		VolumesInUse:    f.VolumesInUse,
		// The attach/detach controller's, kept as it wrote it.
		VolumesAttached: prev.VolumesAttached,
	}
	m := f.Machine
	under := f.Pressure
	if under == nil {
		under = map[corev1.NodeConditionType]bool{
			corev1.NodeMemoryPressure: m.MemoryAvailable < evictionMemory,
			corev1.NodeDiskPressure:   m.FsTotal > 0 && m.FsAvailable*100 < m.FsTotal*evictionFsPct,
			corev1.NodePIDPressure:    m.PIDMax > 0 && (m.PIDMax-m.PIDsInUse)*100 < m.PIDMax*pidPressurePct,
		}
	}
	conds := []corev1.NodeCondition{
		pressure(corev1.NodeMemoryPressure, under[corev1.NodeMemoryPressure],
			"KubeletHasInsufficientMemory", "kubelet has insufficient memory available",
			"KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
		pressure(corev1.NodeDiskPressure, under[corev1.NodeDiskPressure],
			"KubeletHasDiskPressure", "kubelet has disk pressure",
			"KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
		pressure(corev1.NodePIDPressure, under[corev1.NodePIDPressure],
			"KubeletHasInsufficientPID", "kubelet has insufficient PID available",
			"KubeletHasSufficientPID", "kubelet has sufficient PID available"),
		readyCondition(f),
	}
	for i := range conds {
		conds[i].LastHeartbeatTime = now
		conds[i].LastTransitionTime = now
		for _, p := range prev.Conditions {
			if p.Type == conds[i].Type && p.Status == conds[i].Status && !p.LastTransitionTime.IsZero() {
				conds[i].LastTransitionTime = p.LastTransitionTime
			}
		}
	}
	st.Conditions = mergeConditions(prev.Conditions, conds)
	if f.KubeletPort != 0 {
		st.DaemonEndpoints.KubeletEndpoint.Port = f.KubeletPort
	}
	return st
}

// mergeConditions puts the kubelet's own conditions into prev's list,
// each in its place (new ones at the end), and keeps the conditions
// others own as they wrote them: the route controller's
// NetworkUnavailable, a node problem detector's. A status update that
// dropped them would undo their writers' work until they next wrote.
func mergeConditions(prev, own []corev1.NodeCondition) []corev1.NodeCondition {
	out := make([]corev1.NodeCondition, 0, len(prev)+len(own))
	used := make([]bool, len(own))
	for _, p := range prev {
		i := slices.IndexFunc(own, func(c corev1.NodeCondition) bool { return c.Type == p.Type })
		if i < 0 {
			out = append(out, p)
			continue
		}
		if !used[i] { // a duplicate of an own condition goes
			out = append(out, own[i])
			used[i] = true
		}
	}
	for i, c := range own {
		if !used[i] {
			out = append(out, c)
		}
	}
	return out
}

func pressure(t corev1.NodeConditionType, on bool, onReason, onMsg, offReason, offMsg string) corev1.NodeCondition {
	if on {
		return corev1.NodeCondition{Type: t, Status: corev1.ConditionTrue, Reason: onReason, Message: onMsg}
	}
	return corev1.NodeCondition{Type: t, Status: corev1.ConditionFalse, Reason: offReason, Message: offMsg}
}

// readyCondition is Ready from the runtime's own conditions, with
// upstream's messages.
func readyCondition(f Facts) corev1.NodeCondition {
	notReady := func(msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionFalse, Reason: "KubeletNotReady", Message: msg}
	}
	if f.RuntimeErr != nil {
		return notReady(fmt.Sprintf("container runtime is down: %v", f.RuntimeErr))
	}
	if f.RuntimeStatus == nil {
		return notReady("container runtime status check may not have completed yet")
	}
	for _, want := range []string{runtimeapi.RuntimeReady, runtimeapi.NetworkReady} {
		var c *runtimeapi.RuntimeCondition
		for _, rc := range f.RuntimeStatus.Conditions {
			if rc.Type == want {
				c = rc
			}
		}
		if c == nil {
			return notReady(fmt.Sprintf("container runtime not ready: %s condition missing", want))
		}
		if !c.Status {
			what := "container runtime not ready"
			if want == runtimeapi.NetworkReady {
				what = "container runtime network not ready"
			}
			return notReady(fmt.Sprintf("%s: %s=false reason:%s message:%s", what, want, c.Reason, c.Message))
		}
	}
	return corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "kubelet is posting ready status"}
}

// images is the runtime's images, largest first, as upstream lists them.
func images(imgs []*runtimeapi.Image) []corev1.ContainerImage {
	sorted := append([]*runtimeapi.Image(nil), imgs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Size > sorted[j].Size })
	var out []corev1.ContainerImage
	for _, img := range sorted {
		names := append(append([]string(nil), img.RepoDigests...), img.RepoTags...)
		if len(names) == 0 {
			continue
		}
		out = append(out, corev1.ContainerImage{Names: names, SizeBytes: int64(img.Size)})
		if len(out) == maxImagesInState {
			break
		}
	}
	return out
}

// Addresses is the node's InternalIP(s) and Hostname.
func Addresses(ips []net.IP, hostname string) []corev1.NodeAddress {
	var out []corev1.NodeAddress
	for _, ip := range ips {
		out = append(out, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip.String()})
	}
	return append(out, corev1.NodeAddress{Type: corev1.NodeHostName, Address: hostname})
}

// DefaultIP is the address of the first interface that is up and not
// loopback, for a node given no --node-ip.
func DefaultIP() (net.IP, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	for _, i := range ifs {
		if i.Flags&net.FlagUp == 0 || i.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := i.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && n.IP.IsGlobalUnicast() {
				return n.IP, nil
			}
		}
	}
	return nil, fmt.Errorf("no interface with an IPv4 address is up; give --node-ip")
}

// runtimeHandlers are the runtime's handlers as the node reports them,
// in the runtime's order, as upstream's: what RuntimeClass handlers this
// node can run. Without an answer from the runtime the last report stays.
func runtimeHandlers(hs []*runtimeapi.RuntimeHandler, prev []corev1.NodeRuntimeHandler) []corev1.NodeRuntimeHandler {
	if hs == nil {
		return prev
	}
	out := make([]corev1.NodeRuntimeHandler, 0, len(hs))
	for _, h := range hs {
		rro, userns := h.GetFeatures().GetRecursiveReadOnlyMounts(), h.GetFeatures().GetUserNamespaces()
		out = append(out, corev1.NodeRuntimeHandler{
			Name:     h.GetName(),
			Features: &corev1.NodeRuntimeHandlerFeatures{RecursiveReadOnlyMounts: &rro, UserNamespaces: &userns},
		})
	}
	return out
}
