package controller

import (
	"net/netip"
	"time"
)

// Options are the settings of individual controllers, as upstream's
// kube-controller-manager flags of the same names.
type Options struct {
	// NodeMonitorPeriod is how often the node lifecycle controller checks
	// node health (--node-monitor-period).
	NodeMonitorPeriod time.Duration
	// NodeMonitorGracePeriod is how long a node may stay silent (no Lease
	// renewal, no status) before it is marked unknown
	// (--node-monitor-grace-period). The default is 40 s, four of the
	// kubelet's 10 s lease renewals: upstream's until 1.32 (1.37 has
	// 50 s).
	NodeMonitorGracePeriod time.Duration
	// NodeStartupGracePeriod is how long a node that never posted a status
	// is given before it is marked unknown (--node-startup-grace-period).
	NodeStartupGracePeriod time.Duration

	// AllocateNodeCIDRs gives each node spec.podCIDR(s) from ClusterCIDRs,
	// one prefix of NodeCIDRMaskSize bits (IPv4) or NodeCIDRMaskSizeIPv6
	// bits each (--allocate-node-cidrs, --cluster-cidr,
	// --node-cidr-mask-size-ipv4/-ipv6).
	AllocateNodeCIDRs    bool
	ClusterCIDRs         []netip.Prefix
	NodeCIDRMaskSize     int
	NodeCIDRMaskSizeIPv6 int

	// RootCA is the cluster CA bundle (PEM) published in every namespace
	// as the kube-root-ca.crt ConfigMap (--root-ca-file; by default the CA
	// the manager's own client trusts).
	RootCA []byte

	// ClusterSigningCertFile and ClusterSigningKeyFile are the CA the
	// csrsigning controller issues certificates with (upstream's
	// --cluster-signing-cert-file, --cluster-signing-key-file); without
	// them it signs nothing. ClusterSigningDuration is the longest
	// certificate it issues (--cluster-signing-duration, default a year).
	ClusterSigningCertFile string
	ClusterSigningKeyFile  string
	ClusterSigningDuration time.Duration

	// TerminatedPodGCThreshold is how many terminated pods (Succeeded,
	// Failed) may exist before the pod garbage collector deletes the
	// oldest (--terminated-pod-gc-threshold; <= 0: it never does).
	TerminatedPodGCThreshold int
	// PodGCPeriod is how often the pod garbage collector looks (upstream's
	// fixed 20 s) and PodGCQuarantine how long a node must be missing
	// before its pods are orphans (upstream's fixed 40 s). Not flags:
	// tests shorten them; zero means upstream's.
	PodGCPeriod     time.Duration
	PodGCQuarantine time.Duration

	// MaxWaitForUnmount is how long the attach/detach controller waits
	// for a node that is not Ready (or gone) to say it unmounted a volume
	// no pod needs before detaching it anyway (upstream's fixed 6
	// minutes). Not a flag: tests shorten it; zero means upstream's.
	MaxWaitForUnmount time.Duration
}

// DefaultOptions are upstream's defaults, with kemudi's pod network
// (10.42.0.0/16, a /24 per node) allocated to nodes.
func DefaultOptions() Options {
	return Options{
		NodeMonitorPeriod:      5 * time.Second,
		NodeMonitorGracePeriod: 40 * time.Second,
		NodeStartupGracePeriod: 60 * time.Second,
		AllocateNodeCIDRs:      true,
		ClusterCIDRs:           []netip.Prefix{netip.MustParsePrefix("10.42.0.0/16")},
		NodeCIDRMaskSize:       24,
		NodeCIDRMaskSizeIPv6:   64,
		ClusterSigningDuration: 365 * 24 * time.Hour,
		// Upstream's default: a cluster keeps many finished pods.
		TerminatedPodGCThreshold: 12500,
		PodGCPeriod:              20 * time.Second,
		PodGCQuarantine:          40 * time.Second,
		MaxWaitForUnmount:        6 * time.Minute,
	}
}
