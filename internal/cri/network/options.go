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
	PodCIDR      string   // may be "" until SetPodCIDR (then Status reports not ready)
	ClusterCIDRs []string // traffic to these is not masqueraded (default 10.42.0.0/16, 10.43.0.0/16)
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

// parsePodCIDR accepts an IPv4 range with room for a gateway and at least
// one pod; from a dual-stack list ("10.42.0.0/24,fd00:42::/64", as the
// kubelet gives it) it takes the IPv4 range: the built-in network is
// IPv4-only.
func parsePodCIDR(cidrs string) (*net.IPNet, error) {
	var (
		v4 *net.IPNet
		v6 []string
	)
	for _, cidr := range strings.Split(cidrs, ",") {
		cidr = strings.TrimSpace(cidr)
		ip, n, err := net.ParseCIDR(cidr)
		if err != nil {
			return nil, fmt.Errorf("pod CIDR %q: %w", cidr, err)
		}
		if ip.To4() == nil {
			v6 = append(v6, cidr)
			continue
		}
		n.IP = n.IP.To4()
		if ones, _ := n.Mask.Size(); ones > 30 {
			return nil, fmt.Errorf("pod CIDR %q: too small, need at least a /30", cidr)
		}
		if v4 == nil {
			v4 = n
		}
	}
	if v4 == nil {
		return nil, fmt.Errorf("pod CIDR %q: no IPv4 range (IPv6 pod ranges %v are not supported)", cidrs, v6)
	}
	return v4, nil
}
