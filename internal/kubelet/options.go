package kubelet

import (
	"context"
	"log/slog"
	"net"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kemudi/kemudi/internal/kubelet/metrics"
	"github.com/kemudi/kemudi/internal/kubelet/probe"
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
	// UsernsIDsPerPod is how many IDs each pod with spec.hostUsers false
	// gets (upstream's userNamespaces.idsPerPod): a multiple of 65536; 0
	// is the default, 65536. The node's range, which must hold MaxPods
	// such blocks, is the "kubelet" user's in /etc/subuid and /etc/subgid
	// when that user exists, else every ID from UsernsIDsPerPod up to 2^32.
	UsernsIDsPerPod int64
	ClusterDNS      []string // nameservers of ClusterFirst pods
	ClusterDomain   string
	// ResolvConf is the host's resolver file (--resolv-conf): dnsPolicy
	// Default pods get it, ClusterFirst ones its search domains; "" is
	// none. The default, when its nameservers are only systemd-resolved's
	// stub, gives way to systemd-resolved's list (dns.go).
	ResolvConf string
	// Port is where the kubelet's API (internal/kubelet/server) listens,
	// reported in the node's status.daemonEndpoints; 0 reports none.
	Port int32
	// Dial opens connections to pods for probes and HTTP hooks; nil is a
	// plain dialer (the kubelet runs in the node's network namespace).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// ProbeMetrics, if set, counts every probe run; the kubelet's API
	// serves them on /metrics/probes.
	ProbeMetrics *probe.Metrics
	// Metrics, if set, are the kubelet's own (the API's /metrics): the
	// runtime's calls, pod starts, syncs and relists.
	Metrics *metrics.Metrics
	// StatusInterval: node status; LeaseInterval: node lease renewal;
	// SyncFrequency: each pod's periodic sync; RelistPeriod: the safety-net
	// relist of the runtime when it streams container events.
	StatusInterval, LeaseInterval, SyncFrequency, RelistPeriod time.Duration
	// StatusReportInterval is how often the node's status is written when
	// nothing in it changed (upstream's nodeStatusReportFrequency): the
	// Lease is the heartbeat between.
	StatusReportInterval time.Duration
	// ContainerLogMaxSize (bytes) and ContainerLogMaxFiles (the current
	// log included) bound each container's log, checked every
	// ContainerLogMonitorInterval (logrotate.go); MaxSize 0 rotates nothing.
	ContainerLogMaxSize         int64
	ContainerLogMaxFiles        int
	ContainerLogMonitorInterval time.Duration
	// Image garbage collection (imagegc.go): every ImageGCPeriod, unused
	// images at least ImageMinimumGCAge old are removed once the image
	// filesystem's usage reaches the high threshold, down to the low one;
	// a high threshold of 100 turns it off.
	ImageGCHighThresholdPercent int
	ImageGCLowThresholdPercent  int
	ImageMinimumGCAge           time.Duration
	ImageGCPeriod               time.Duration
	// EvictionHard are the hard eviction thresholds (eviction.go), checked
	// every EvictionMonitoringInterval; a pressure condition stays True
	// for EvictionPressureTransitionPeriod after its threshold was last
	// crossed. DefaultOptions has upstream's DefaultEvictionHard.
	EvictionHard                     []Threshold
	EvictionMonitoringInterval       time.Duration
	EvictionPressureTransitionPeriod time.Duration
	// PodManifestPath is a directory of static pod manifests ("" = none),
	// read every FileCheckFrequency (staticpod_source.go).
	PodManifestPath    string
	FileCheckFrequency time.Duration
	// ManifestURL is a URL of static pods ("" = none): one v1 Pod or a
	// v1 PodList, YAML or JSON, fetched every HTTPCheckFrequency with the
	// headers of ManifestURLHeader (staticpod_url_source.go); upstream's
	// staticPodURL, staticPodURLHeader and httpCheckFrequency.
	ManifestURL        string
	ManifestURLHeader  map[string][]string
	HTTPCheckFrequency time.Duration
	// VolumeStatsAggPeriod is how often the kubelet's server measures
	// pods' volumes for /stats/summary and the volume metrics
	// (upstream's volumeStatsAggPeriod).
	VolumeStatsAggPeriod time.Duration
	Log                  *slog.Logger
}

// DefaultOptions are upstream's defaults with kemudi's paths.
func DefaultOptions() Options {
	return Options{
		RuntimeEndpoint:      "unix:///run/kemudi/cri.sock",
		RootDir:              "/var/lib/kemudi/agent/kubelet",
		PodLogDir:            "/var/log/pods",
		MaxPods:              110,
		UsernsIDsPerPod:      DefaultUsernsIDsPerPod,
		Port:                 10250,
		ClusterDNS:           []string{"10.43.0.10"},
		ClusterDomain:        "cluster.local",
		ResolvConf:           DefaultResolvConf,
		StatusInterval:       10 * time.Second,
		StatusReportInterval: 5 * time.Minute,
		LeaseInterval:        10 * time.Second,
		SyncFrequency:        time.Minute,
		RelistPeriod:         5 * time.Minute,

		ContainerLogMaxSize:         10 << 20,
		ContainerLogMaxFiles:        5,
		ContainerLogMonitorInterval: 10 * time.Second,
		ImageGCHighThresholdPercent: 85,
		ImageGCLowThresholdPercent:  80,
		ImageMinimumGCAge:           2 * time.Minute,
		ImageGCPeriod:               5 * time.Minute,

		EvictionHard:                     MustParseThresholds(DefaultEvictionHard),
		EvictionMonitoringInterval:       10 * time.Second,
		EvictionPressureTransitionPeriod: 5 * time.Minute,
		FileCheckFrequency:               20 * time.Second,
		HTTPCheckFrequency:               20 * time.Second,
		VolumeStatsAggPeriod:             time.Minute,
	}
}

// MustParseThresholds is ParseThresholds for constants.
func MustParseThresholds(s string) []Threshold {
	t, err := ParseThresholds(s)
	if err != nil {
		panic(err)
	}
	return t
}
