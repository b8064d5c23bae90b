package kubelet

import (
	"context"
	"log/slog"
	"net"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Version is the Kubernetes API level the kubelet reports.
const Version = "v1.37.2"

// Options configure a kubelet.
type Options struct {
	NodeName string
	// Runtime, when set, is used instead of dialling RuntimeEndpoint
	// (an in-process runtime: see InProcess).
	Runtime         Runtime
	RuntimeEndpoint string // unix:///run/kemudi/cri.sock
	RootDir         string // kubelet state: pods/<uid>/volumes...
	PodLogDir       string // /var/log/pods
	CgroupRoot      string // prefix of the kubepods cgroups ("" = /)
	NodeIPs         []net.IP
	NodeLabels      map[string]string
	Taints          []corev1.Taint
	KubeReserved    corev1.ResourceList
	SystemReserved  corev1.ResourceList
	MaxPods         int64
	ClusterDNS      []string // nameservers of ClusterFirst pods
	ClusterDomain   string
	// Port is where the kubelet's API (internal/kubelet/server) listens,
	// reported in the node's status.daemonEndpoints; 0 reports none.
	Port int32
	// Dial opens connections to pods for probes and HTTP hooks; nil is a
	// plain dialer (the kubelet runs in the node's network namespace).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// StatusInterval: node status; LeaseInterval: node lease renewal;
	// SyncFrequency: each pod's periodic sync; RelistPeriod: the safety-net
	// relist of the runtime when it streams container events.
	StatusInterval, LeaseInterval, SyncFrequency, RelistPeriod time.Duration
	Log                                                        *slog.Logger
}

// DefaultOptions are upstream's defaults with kemudi's paths.
func DefaultOptions() Options {
	return Options{
		RuntimeEndpoint: "unix:///run/kemudi/cri.sock",
		RootDir:         "/var/lib/kemudi/agent/kubelet",
		PodLogDir:       "/var/log/pods",
		MaxPods:         110,
		Port:            10250,
		ClusterDNS:      []string{"10.43.0.10"},
		ClusterDomain:   "cluster.local",
		StatusInterval:  10 * time.Second,
		LeaseInterval:   10 * time.Second,
		SyncFrequency:   time.Minute,
		RelistPeriod:    5 * time.Minute,
	}
}
