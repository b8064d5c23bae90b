package scheduler

import (
	"log/slog"
	"runtime"
	"time"

	"github.com/kemudi/kemudi/internal/scheduler/plugins/volumebinding"
)

// DefaultSchedulerName is the schedulerName pods get by default.
const DefaultSchedulerName = "default-scheduler"

// Options configure the scheduler.
type Options struct {
	// SchedulerNames are the spec.schedulerName values this scheduler
	// serves (upstream's profiles, all with the default plugins); pods
	// naming another scheduler are left alone. Default: default-scheduler.
	SchedulerNames []string
	// LeaderElect makes the scheduler schedule only while it holds the
	// Lease LeaseNamespace/LeaseName (kube-system/kube-scheduler).
	LeaderElect    bool
	LeaseName      string
	LeaseNamespace string
	// Identity names this scheduler in the Lease (default: host name and
	// a random suffix).
	Identity string
	// LeaseDuration, RenewDeadline and RetryPeriod are the leader
	// election timings (upstream's: 15s, 10s, 2s).
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// Parallelism is how many goroutines filter and score nodes
	// (default half of GOMAXPROCS, at least 1).
	Parallelism int
	// PercentageOfNodesToScore caps the share of nodes filtered once
	// enough feasible ones are found; 0 is upstream's adaptive default.
	PercentageOfNodesToScore int32
	// MaxBindsInFlight bounds the bindings sent and not yet answered
	// (default 256).
	MaxBindsInFlight int
	// VolumeBindTimeout is how long a pod's binding waits for its
	// WaitForFirstConsumer claims to be bound (upstream's
	// VolumeBinding bindTimeoutSeconds, default 600s).
	VolumeBindTimeout time.Duration
	Log               *slog.Logger
}

// DefaultOptions serve default-scheduler with leader election.
func DefaultOptions() Options {
	return Options{LeaderElect: true}
}

func (o *Options) defaults() {
	if o.Parallelism <= 0 {
		// Filtering, scoring and preemption's dry runs alike.
		o.Parallelism = max(1, runtime.GOMAXPROCS(0)/2)
	}
	if len(o.SchedulerNames) == 0 {
		o.SchedulerNames = []string{DefaultSchedulerName}
	}
	if o.LeaseName == "" {
		o.LeaseName = "kube-scheduler"
	}
	if o.LeaseNamespace == "" {
		o.LeaseNamespace = "kube-system"
	}
	if o.LeaseDuration == 0 {
		o.LeaseDuration = 15 * time.Second
	}
	if o.RenewDeadline == 0 {
		o.RenewDeadline = 10 * time.Second
	}
	if o.RetryPeriod == 0 {
		o.RetryPeriod = 2 * time.Second
	}
	if o.MaxBindsInFlight <= 0 {
		o.MaxBindsInFlight = 256
	}
	if o.VolumeBindTimeout <= 0 {
		o.VolumeBindTimeout = volumebinding.DefaultBindTimeout
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
}
