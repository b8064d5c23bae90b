package simnode

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"runtime"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Fake address ranges: node i's InternalIP is in 10.240.0.0/12 and, until
// the node has spec.podCIDRs, its pods' IPs are in 10.64.0.0/10, a /24
// per node. Neither range is routed anywhere: nothing ever sends to them.
var (
	nodeRange    = netip.MustParsePrefix("10.240.0.0/12")
	fakePodRange = netip.MustParsePrefix("10.64.0.0/10")
)

// MaxCount is the most nodes one Nodes registers: the fake address
// ranges hold this many.
const MaxCount = 1 << 14

// nodeName is the name of node i: prefix and the index, zero-padded to
// four digits or as many as count-1 needs.
func nodeName(prefix string, i, count int) string {
	width := len(strconv.Itoa(count - 1))
	if width < 4 {
		width = 4
	}
	return fmt.Sprintf("%s%0*d", prefix, width, i)
}

// nodeIP is node i's InternalIP.
func nodeIP(i int) netip.Addr {
	return addrAdd(nodeRange.Addr(), uint32(i)+1)
}

// fakePodCIDR is node i's pod range when the node has no spec.podCIDRs.
func fakePodCIDR(i int) netip.Prefix {
	return netip.PrefixFrom(addrAdd(fakePodRange.Addr(), uint32(i)<<8), 24)
}

// addrAdd adds n to an IPv4 address.
func addrAdd(a netip.Addr, n uint32) netip.Addr {
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += n
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// zoneName is the i-th zone: zone-a ... zone-z, then zone-27, ...
func zoneName(i int) string {
	if i < 26 {
		return "zone-" + string(rune('a'+i))
	}
	return "zone-" + strconv.Itoa(i+1)
}

// hexID is a stable fake identifier derived from the node's name.
func hexID(kind, name string) string {
	sum := sha256.Sum256([]byte(kind + "/" + name))
	return hex.EncodeToString(sum[:16])
}

// uuidFrom formats hexID as a UUID.
func uuidFrom(id string) string {
	return id[0:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:32]
}

// newNode builds node i as it registers: labels, taints, capacity and
// the status a kubelet reports (Ready, addresses, system info, images),
// then o.Customize's changes. o has its defaults.
func newNode(o Options, i int, now metav1.Time) *corev1.Node {
	name := nodeName(o.NamePrefix, i, o.Count)
	labels := map[string]string{
		corev1.LabelHostname:      name,
		corev1.LabelOSStable:      "linux",
		corev1.LabelArchStable:    runtime.GOARCH,
		"beta.kubernetes.io/os":   "linux",
		"beta.kubernetes.io/arch": runtime.GOARCH,
	}
	if o.Zones > 0 {
		labels[corev1.LabelTopologyZone] = zoneName(i % o.Zones)
		labels[corev1.LabelTopologyRegion] = "region-1"
	}
	for k, v := range o.Labels {
		labels[k] = v
	}
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:   name,
			Labels: labels,
			Annotations: map[string]string{
				AnnotationSimulated: "true",
				"volumes.kubernetes.io/controller-managed-attach-detach": "true",
			},
		},
		Spec: corev1.NodeSpec{Taints: append([]corev1.Taint(nil), o.Taints...)},
		Status: corev1.NodeStatus{
			Capacity:    o.Capacity.DeepCopy(),
			Allocatable: o.Capacity.DeepCopy(),
			Conditions:  nodeConditions(true, now, now, now),
			Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: nodeIP(i).String()},
				{Type: corev1.NodeHostName, Address: name},
			},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10250}},
			NodeInfo: corev1.NodeSystemInfo{
				MachineID:               hexID("machine", name),
				SystemUUID:              uuidFrom(hexID("system", name)),
				BootID:                  uuidFrom(hexID("boot", name)),
				KernelVersion:           "6.1.0-kemudi-sim",
				OSImage:                 "kemudi simulated node",
				ContainerRuntimeVersion: "kemudi-sim://0.1.0",
				KubeletVersion:          KubeletVersion,
				OperatingSystem:         "linux",
				Architecture:            runtime.GOARCH,
			},
			Images: append([]corev1.ContainerImage(nil), o.Images...),
		},
	}
	for j := range n.Spec.Taints {
		if n.Spec.Taints[j].Effect == corev1.TaintEffectNoExecute && n.Spec.Taints[j].TimeAdded == nil {
			n.Spec.Taints[j].TimeAdded = &now
		}
	}
	if o.Customize != nil {
		o.Customize(i, n)
		if n.Name != name && n.Labels[corev1.LabelHostname] == name {
			n.Labels[corev1.LabelHostname] = n.Name
			for j := range n.Status.Addresses {
				if n.Status.Addresses[j].Type == corev1.NodeHostName {
					n.Status.Addresses[j].Address = n.Name
				}
			}
		}
	}
	return n
}

// nodeConditions are the conditions a kubelet reports: no memory, disk
// or PID pressure since the node started, and Ready (or not) since
// readySince. heartbeat is now.
func nodeConditions(ready bool, heartbeat, started, readySince metav1.Time) []corev1.NodeCondition {
	c := []corev1.NodeCondition{
		{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory", Message: "kubelet has sufficient memory available"},
		{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", Message: "kubelet has no disk pressure"},
		{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientPID", Message: "kubelet has sufficient PID available"},
		{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "kubelet is posting ready status"},
	}
	if !ready {
		c[3].Status, c[3].Reason, c[3].Message = corev1.ConditionFalse, "KubeletNotReady", "simulated node reports not ready"
	}
	for i := range c {
		c[i].LastHeartbeatTime = heartbeat
		c[i].LastTransitionTime = started
	}
	c[3].LastTransitionTime = readySince
	return c
}
