package network

import (
	"fmt"
	"log/slog"
	"net"
	"strings"
)

// Options configure a Manager.
type Options struct {
	StateDir     string   // IPAM state and per-sandbox records (survive restarts)
	Bridge       string   // default "kemudi0"
	PodCIDR      string   // may be "" until SetPodCIDR (then Status reports not ready); "v4,v6" for dual-stack
	ClusterCIDRs []string // traffic to these is not masqueraded (default 10.42.0.0/16, 10.43.0.0/16; dual-stack: add the IPv6 ranges)
	// CNIConfDir and CNIBinDir, both set: a CNI plugin chain through libcni
	// instead of the built-in network.
	CNIConfDir, CNIBinDir string
	// HostNetNS is the path of the network namespace that plays the node
	// (tests); "" = the namespace of the thread calling New.
	HostNetNS string
	Log       *slog.Logger
}

// DefaultBridge is the built-in network's bridge.
const DefaultBridge = "kemudi0"

// defaultClusterCIDRs are kemudi's default pod and service ranges.
var defaultClusterCIDRs = []string{"10.42.0.0/16", "10.43.0.0/16"}

func (o *Options) setDefaults() {
	if o.Bridge == "" {
		o.Bridge = DefaultBridge
	}
	if o.ClusterCIDRs == nil {
		o.ClusterCIDRs = append([]string(nil), defaultClusterCIDRs...)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	o.Log = o.Log.With("component", "cri-network")
}

func (o *Options) validate() error {
	if o.StateDir == "" {
		return fmt.Errorf("network: StateDir is required")
	}
	if len(o.Bridge) > 15 {
		return fmt.Errorf("network: bridge name %q is longer than 15 characters", o.Bridge)
	}
	if (o.CNIConfDir == "") != (o.CNIBinDir == "") {
		return fmt.Errorf("network: CNIConfDir and CNIBinDir go together (got %q and %q)", o.CNIConfDir, o.CNIBinDir)
	}
	for _, c := range o.ClusterCIDRs {
		if _, _, err := net.ParseCIDR(c); err != nil {
			return fmt.Errorf("network: cluster CIDR %q: %w", c, err)
		}
	}
	return nil
}

// parsePodCIDRs accepts one range, or a dual-stack pair as the kubelet
// gives it ("10.42.0.0/24,fd00:42::/64"), each with room for a gateway and
// at least one pod; IPv4 first.
func parsePodCIDRs(cidrs string) ([]*net.IPNet, error) {
	var v4, v6 *net.IPNet
	for _, cidr := range strings.Split(cidrs, ",") {
		cidr = strings.TrimSpace(cidr)
		ip, n, err := net.ParseCIDR(cidr)
		if err != nil {
			return nil, fmt.Errorf("pod CIDR %q: %w", cidr, err)
		}
		ones, bits := n.Mask.Size()
		if bits-ones < 2 {
			return nil, fmt.Errorf("pod CIDR %q: too small, need room for a gateway and a pod", cidr)
		}
		slot := &v6
		if ip.To4() != nil {
			n.IP, slot = n.IP.To4(), &v4
		}
		if *slot != nil {
			return nil, fmt.Errorf("pod CIDR %q: two ranges of one family", cidrs)
		}
		*slot = n
	}
	var out []*net.IPNet
	for _, n := range []*net.IPNet{v4, v6} {
		if n != nil {
			out = append(out, n)
		}
	}
	return out, nil
}

// parsePodCIDR parses one range (a record's).
func parsePodCIDR(cidr string) (*net.IPNet, error) {
	ns, err := parsePodCIDRs(cidr)
	if err != nil {
		return nil, err
	}
	if len(ns) != 1 {
		return nil, fmt.Errorf("pod CIDR %q: want one range", cidr)
	}
	return ns[0], nil
}
