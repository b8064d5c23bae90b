package simnode

import (
	"fmt"
	"log/slog"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Options describe the simulated nodes. The zero value of every field
// means its default.
type Options struct {
	// Count is how many nodes to register.
	Count int
	// NamePrefix names the nodes: prefix + the node's index, zero-padded
	// to four digits or more ("node-0000", "node-0001", ...). Default
	// "node-".
	NamePrefix string
	// Capacity is each node's capacity; allocatable is the same. Unset
	// resources default to cpu 4, memory 16Gi, pods 110,
	// ephemeral-storage 100Gi; extended resources (e.g.
	// example.com/gpu) may be added.
	Capacity corev1.ResourceList
	// Labels are added to every node, besides kubernetes.io/hostname,
	// kubernetes.io/os, kubernetes.io/arch (and their beta forms) and
	// the zone labels.
	Labels map[string]string
	// Taints are set on every node at registration.
	Taints []corev1.Taint
	// Zones, when more than 0, spreads the nodes round-robin over that
	// many zones: topology.kubernetes.io/zone=zone-a, zone-b, ... (and
	// topology.kubernetes.io/region=region-1).
	Zones int
	// Images are the images every node reports in status.images (for
	// image locality scoring).
	Images []corev1.ContainerImage
	// Customize, if set, may change node i before it is registered:
	// heterogenous capacity, labels, taints, images, even its name (the
	// hostname label follows the name).
	Customize func(i int, node *corev1.Node)

	// LeaseDuration is each lease's leaseDurationSeconds: default 40s,
	// the kubelet's.
	LeaseDuration time.Duration
	// RenewInterval is how often leases are renewed: default 10s (a
	// quarter of the lease duration, as the kubelet). The renewals of
	// all nodes are spread over this interval.
	RenewInterval time.Duration
	// StatusInterval is how often a node reports its status (the Ready
	// condition's heartbeat) when nothing changed: default 1 minute.
	StatusInterval time.Duration

	// LeavePods makes the nodes leave the pods bound to them alone, as
	// scheduler_perf's nodes do: they stay Pending, and nothing watches
	// them for the nodes. The nodes still register, keep their leases
	// fresh and report status.
	LeavePods bool
	// Workers acting on pods: default 32.
	Workers int
	// HeartbeatWorkers renewing leases and reporting node status:
	// default 8.
	HeartbeatWorkers int
	// Finish decides whether and when a running pod's containers finish
	// (nil: DefaultFinish, the complete-after / fail-after annotations).
	Finish func(*corev1.Pod) (Finish, bool)
	// DeleteDelay is how long a deleted pod's containers take to stop
	// before the pod is removed: default 0.
	DeleteDelay time.Duration

	// Log receives the nodes' log (default slog.Default()).
	Log *slog.Logger
}

// Finish is how a pod's containers end: after running for After, the pod
// becomes Phase (Succeeded or Failed), every container terminated with
// ExitCode.
type Finish struct {
	After    time.Duration
	Phase    corev1.PodPhase
	ExitCode int32
}

const (
	// AnnotationCompleteAfter on a pod with restartPolicy Never or
	// OnFailure makes it Succeeded that long (a Go duration) after it
	// started.
	AnnotationCompleteAfter = "simnode.kemudi.io/complete-after"
	// AnnotationFailAfter on a pod with restartPolicy Never makes it
	// Failed that long after it started, its containers terminated with
	// exit code 1 (or AnnotationExitCode's).
	AnnotationFailAfter = "simnode.kemudi.io/fail-after"
	// AnnotationExitCode is the exit code of a pod that fails (an
	// integer, default 1).
	AnnotationExitCode = "simnode.kemudi.io/exit-code"
	// AnnotationNotReady: "true" keeps a running pod's containers
	// unready, as a failing readiness probe would; removing it (or any
	// other value) makes them ready.
	AnnotationNotReady = "simnode.kemudi.io/not-ready"
	// AnnotationSimulated marks the nodes this package registered.
	AnnotationSimulated = "simnode.kemudi.io/simulated"
)

// KubeletVersion is the version simulated nodes report.
const KubeletVersion = "v1.37.2"

// DefaultFinish reads the complete-after, fail-after and exit-code
// annotations; pods that restart their containers (restartPolicy
// Always) never finish.
func DefaultFinish(pod *corev1.Pod) (Finish, bool) {
	if pod.Spec.RestartPolicy == corev1.RestartPolicyAlways || pod.Spec.RestartPolicy == "" {
		return Finish{}, false
	}
	if v, ok := pod.Annotations[AnnotationFailAfter]; ok && pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
		if d, err := time.ParseDuration(v); err == nil {
			code := int32(1)
			if c, err := strconv.ParseInt(pod.Annotations[AnnotationExitCode], 10, 32); err == nil && c != 0 {
				code = int32(c)
			}
			return Finish{After: d, Phase: corev1.PodFailed, ExitCode: code}, true
		}
	}
	if v, ok := pod.Annotations[AnnotationCompleteAfter]; ok {
		if d, err := time.ParseDuration(v); err == nil {
			return Finish{After: d, Phase: corev1.PodSucceeded}, true
		}
	}
	return Finish{}, false
}

// withDefaults returns the options with defaults filled in, or an error
// naming a bad value.
func (o Options) withDefaults() (Options, error) {
	if o.Count < 0 {
		return o, fmt.Errorf("count %d: must be >= 0", o.Count)
	}
	if o.Zones < 0 {
		return o, fmt.Errorf("zones %d: must be >= 0", o.Zones)
	}
	if o.NamePrefix == "" {
		o.NamePrefix = "node-"
	}
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("4"),
		corev1.ResourceMemory:           resource.MustParse("16Gi"),
		corev1.ResourcePods:             resource.MustParse("110"),
		corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
	}
	for k, v := range o.Capacity {
		capacity[k] = v.DeepCopy()
	}
	o.Capacity = capacity
	if o.LeaseDuration <= 0 {
		o.LeaseDuration = 40 * time.Second
	}
	if o.RenewInterval <= 0 {
		o.RenewInterval = o.LeaseDuration / 4
	}
	if o.StatusInterval <= 0 {
		o.StatusInterval = time.Minute
	}
	if o.Workers <= 0 {
		o.Workers = 32
	}
	if o.HeartbeatWorkers <= 0 {
		o.HeartbeatWorkers = 8
	}
	if o.Finish == nil {
		o.Finish = DefaultFinish
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return o, nil
}
