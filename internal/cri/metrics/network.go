package metrics

import (
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/cri/network"
)

// Pod names a pod for its series.
type Pod struct {
	ID, Name, Namespace string
}

// PodNetwork is the pod-level series: each interface's counters in the
// pod's network namespace, labelled with the pod and the sandbox's id and
// an empty container and image, as cAdvisor labels a pod's network. The
// loopback is left out, as cAdvisor does.
func PodNetwork(p Pod, ifs []network.InterfaceStats, now time.Time) []*runtimeapi.Metric {
	s := series{base: []string{p.Name, p.Namespace, "", p.ID, ""}, ts: now.UnixNano()}
	for _, i := range ifs {
		if i.Name == "lo" {
			continue
		}
		s.add("container_network_receive_bytes_total", counter, i.RxBytes, i.Name)
		s.add("container_network_receive_packets_total", counter, i.RxPackets, i.Name)
		s.add("container_network_receive_packets_dropped_total", counter, i.RxDropped, i.Name)
		s.add("container_network_receive_errors_total", counter, i.RxErrors, i.Name)
		s.add("container_network_transmit_bytes_total", counter, i.TxBytes, i.Name)
		s.add("container_network_transmit_packets_total", counter, i.TxPackets, i.Name)
		s.add("container_network_transmit_packets_dropped_total", counter, i.TxDropped, i.Name)
		s.add("container_network_transmit_errors_total", counter, i.TxErrors, i.Name)
	}
	return s.out
}
