package proxy

import (
	"fmt"
	"log/slog"
	"net/netip"
	"time"
)

// Options configure the proxy.
type Options struct {
	// NodeName is this node: its endpoints are the local ones.
	NodeName string
	// ClusterCIDRs are the pods' addresses (default: the node's
	// spec.podCIDRs, as upstream's detect-local-mode NodeCIDR).
	ClusterCIDRs []netip.Prefix
	// ServiceCIDRs are routed nowhere and rejected when untranslated.
	ServiceCIDRs []netip.Prefix
	// HealthzBindAddress serves /healthz, /livez and /metrics ("" off).
	HealthzBindAddress string
	// SyncPeriod is how often the proxy checks that its table is intact.
	SyncPeriod time.Duration
	// FullSyncPeriod is how often the table is rebuilt from scratch.
	FullSyncPeriod time.Duration
	// MasqueradeBit is the packet mark bit for masquerading.
	MasqueradeBit uint32
	// NetNSPath, when set, is the network namespace the proxy programs
	// (several nodes on one machine, tests); "" is the proxy's own.
	NetNSPath string
	Log       *slog.Logger
}

// DefaultOptions are upstream's defaults and kemudi's service range.
func DefaultOptions() Options {
	return Options{
		ServiceCIDRs:       []netip.Prefix{netip.MustParsePrefix("10.43.0.0/16")},
		HealthzBindAddress: "0.0.0.0:10256",
		SyncPeriod:         30 * time.Second,
		FullSyncPeriod:     time.Hour,
		MasqueradeBit:      0x4000,
	}
}

func (o *Options) validate() error {
	if o.NodeName == "" {
		return fmt.Errorf("proxy: a node name is required")
	}
	if o.MasqueradeBit == 0 {
		return fmt.Errorf("proxy: the masquerade bit must not be 0")
	}
	if o.SyncPeriod <= 0 || o.FullSyncPeriod <= 0 {
		return fmt.Errorf("proxy: sync periods must be positive")
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	o.Log = o.Log.With("component", "proxy")
	return nil
}
