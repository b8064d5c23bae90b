package kubelet

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/diskusage"
	"github.com/kemudi/kemudi/internal/kubelet/node"
	"github.com/kemudi/kemudi/internal/kubelet/volume"
)

// Node-pressure eviction, as upstream's eviction manager: every
// EvictionMonitoringInterval the kubelet measures the signals, sets the
// node's pressure conditions, and when a hard threshold is crossed it
// first reclaims what the node holds (for disk: dead containers and
// unused images), then evicts one pod, the first RankForEviction gives.
// Every round, pressure or not, it also evicts the pods past their local
// storage limits (upstream's LocalStorageCapacityIsolation, on).

// podCleanupTimeout is how long an eviction waits for the pod's
// containers to stop before the next round may evict another.
const podCleanupTimeout = 30 * time.Second

type evictionManager struct {
	k          *Kubelet
	thresholds []Threshold
	// nothingLeft: the last round found no pod to evict (logged once).
	nothingLeft bool

	mu          sync.Mutex
	lastCrossed map[corev1.NodeConditionType]time.Time
	pressure    map[corev1.NodeConditionType]bool
}

func newEvictionManager(k *Kubelet) *evictionManager {
	return &evictionManager{k: k, thresholds: k.opts.EvictionHard,
		lastCrossed: map[corev1.NodeConditionType]time.Time{}, pressure: map[corev1.NodeConditionType]bool{}}
}

// Pressure is the node's pressure conditions now (for its status).
func (e *evictionManager) Pressure() map[corev1.NodeConditionType]bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.pressure)
}

// reserve is what the thresholds take off allocatable.
func (e *evictionManager) reserve(capacity corev1.ResourceList) corev1.ResourceList {
	return HardEvictionReserve(e.thresholds, capacity)
}

func (e *evictionManager) loop(ctx context.Context) {
	if e.k.opts.EvictionMonitoringInterval <= 0 {
		return
	}
	t := time.NewTicker(e.k.opts.EvictionMonitoringInterval)
	defer t.Stop()
	for {
		if err := e.synchronize(ctx); err != nil && ctx.Err() == nil {
			e.k.log.Warn("eviction manager", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// synchronize is one round: observe, set the conditions, reclaim or evict.
func (e *evictionManager) synchronize(ctx context.Context) error {
	obs, err := e.observe(ctx)
	if err != nil {
		return err
	}
	crossed := Crossed(e.thresholds, obs)
	e.setPressure(crossed)
	// As upstream: a round that evicts for local storage limits evicts
	// nothing for the node's pressure.
	if evicted, err := e.evictOverLimits(ctx); err != nil || evicted {
		return err
	}
	if len(crossed) == 0 {
		e.nothingLeft = false
		return nil
	}
	t := crossed[0]
	if !e.nothingLeft {
		e.k.log.Warn("eviction threshold crossed", "threshold", t.String(), "available", obs[t.Signal].Available)
	}
	if e.reclaim(ctx, t.Signal) {
		if obs, err = e.observe(ctx); err != nil {
			return err
		}
		if len(Crossed([]Threshold{t}, obs)) == 0 {
			e.k.log.Info("eviction threshold met by reclaiming node resources", "threshold", t.String())
			return nil
		}
	}
	pods, err := e.podUsage(ctx, nil)
	if err != nil {
		return err
	}
	for _, u := range RankForEviction(t.Signal, pods) {
		if e.evict(ctx, u.Pod, EvictionMessage(t, obs[t.Signal], u)) {
			return nil
		}
	}
	if !e.nothingLeft {
		e.nothingLeft = true
		e.k.log.Error("eviction manager: no pod to evict", "threshold", t.String())
	}
	return nil
}

func (e *evictionManager) setPressure(crossed []Threshold) {
	e.mu.Lock()
	now := PressureConditions(crossed, e.lastCrossed, e.k.opts.EvictionPressureTransitionPeriod, time.Now())
	changed := !maps.Equal(now, e.pressure)
	e.pressure = now
	e.mu.Unlock()
	if changed {
		e.k.node.Refresh()
	}
}

// observe measures every signal: memory and PIDs from the machine,
// nodefs from the kubelet's root directory, imagefs from the
// filesystem the runtime keeps its images on.
func (e *evictionManager) observe(ctx context.Context) (map[Signal]Observation, error) {
	m, err := node.ReadMachine(e.k.opts.RootDir)
	if err != nil {
		return nil, fmt.Errorf("observe: %w", err)
	}
	obs := map[Signal]Observation{
		SignalMemoryAvailable: {Available: m.MemoryAvailable, Capacity: m.MemoryTotal},
	}
	if m.PIDMax > 0 {
		obs[SignalPIDAvailable] = Observation{Available: m.PIDMax - m.PIDsInUse, Capacity: m.PIDMax}
	}
	var st unix.Statfs_t
	if err := unix.Statfs(e.k.opts.RootDir, &st); err != nil {
		return nil, fmt.Errorf("observe: statfs %s: %w", e.k.opts.RootDir, err)
	}
	fsObservations(obs, st, SignalNodeFsAvailable, SignalNodeFsInodesFree)
	if ist, err := e.k.imageFsStatfs(ctx); err == nil {
		// Departure from upstream, which also applies imagefs thresholds
		// when images share the kubelet's filesystem (kind's "DiskPressure
		// at 85% used"): here the nodefs thresholds judge a shared one.
		if ist.Fsid != st.Fsid {
			fsObservations(obs, ist, SignalImageFsAvailable, SignalImageFsInodes)
		}
	} else if ctx.Err() == nil {
		e.k.log.Warn("observe image filesystem", "err", err)
	}
	return obs, nil
}

func fsObservations(obs map[Signal]Observation, st unix.Statfs_t, bytes, inodes Signal) {
	obs[bytes] = Observation{Available: int64(st.Bavail) * st.Bsize, Capacity: int64(st.Blocks) * st.Bsize}
	if st.Files > 0 {
		obs[inodes] = Observation{Available: int64(st.Ffree), Capacity: int64(st.Files)}
	}
}

// reclaim frees what the node holds for a disk signal: dead containers,
// then unused images. It reports whether it tried anything.
func (e *evictionManager) reclaim(ctx context.Context, s Signal) bool {
	if conditionOf(s) != corev1.NodeDiskPressure {
		return false
	}
	if n, err := e.k.removeDeadContainers(ctx); err != nil {
		e.k.log.Warn("reclaim dead containers", "err", err)
	} else if n > 0 {
		e.k.log.Info("reclaimed dead containers", "count", n)
	}
	if freed, err := e.k.imageGC.deleteUnused(ctx); err != nil {
		e.k.log.Warn("reclaim unused images", "err", err)
	} else {
		e.k.log.Info("reclaimed unused images", "bytes", freed)
	}
	return true
}

// evictOverLimits evicts every pod past a local storage limit; it
// reports whether it evicted any. Only pods with such a limit are
// measured: most have none, and an idle node should not walk their
// volumes every round.
func (e *evictionManager) evictOverLimits(ctx context.Context) (bool, error) {
	pods, err := e.podUsage(ctx, HasLocalStorageLimit)
	if err != nil {
		return false, err
	}
	evicted := false
	for _, u := range pods {
		if msg := LocalStorageViolation(u); msg != "" && e.evict(ctx, u.Pod, msg) {
			evicted = true
		}
	}
	return evicted, nil
}

// podUsage is the usage of every pod of the node that still runs: its
// containers' from the runtime's stats, their logs and its disk-backed
// emptyDirs measured as /stats/summary does (du). A non-nil only keeps
// the pods it holds for.
func (e *evictionManager) podUsage(ctx context.Context, only func(*corev1.Pod) bool) ([]PodUsage, error) {
	byPod := map[string]*PodUsage{}
	for _, obj := range e.k.podsInf.GetStore().List() {
		pod, ok := obj.(*corev1.Pod)
		if !ok || isMirrorPod(pod) || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed ||
			e.evicting(pod) || (only != nil && !only(pod)) {
			continue
		}
		byPod[string(pod.UID)] = &PodUsage{Pod: pod, Memory: map[string]int64{}, Disk: map[string]int64{}, Volumes: map[string]int64{}}
	}
	if len(byPod) == 0 {
		return nil, nil
	}
	stats, err := e.k.rt.ListContainerStats(ctx, &runtimeapi.ListContainerStatsRequest{})
	if err != nil {
		return nil, fmt.Errorf("container stats: %w", err)
	}
	for _, s := range stats.Stats {
		labels := s.GetAttributes().GetLabels()
		u := byPod[labels[labelPodUID]]
		name := labels[labelContainerName]
		if u == nil || name == "" {
			continue
		}
		u.Memory[name] += int64(s.GetMemory().GetWorkingSetBytes().GetValue())
		u.Disk[name] += int64(s.GetWritableLayer().GetUsedBytes().GetValue())
	}
	var out []PodUsage
	for _, u := range byPod {
		e.storageUsage(u)
		out = append(out, *u)
	}
	return out, nil
}

// storageUsage adds to u its containers' logs and its disk-backed
// emptyDirs; what is not there (yet) counts nothing.
func (e *evictionManager) storageUsage(u *PodUsage) {
	pod := u.Pod
	logDir := e.k.podLogDir(pod.Namespace, pod.Name, string(pod.UID))
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			if n, _, err := diskusage.Files(filepath.Join(logDir, c.Name)); err == nil {
				u.Disk[c.Name] += int64(n)
			}
		}
	}
	podDir := volume.PodDir(podsDir(e.k.opts.RootDir), pod.UID)
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		if v.EmptyDir == nil || v.EmptyDir.Medium != corev1.StorageMediumDefault {
			continue
		}
		if n, _, err := diskusage.Of(volume.Dir(podDir, volume.Plugin(v), v.Name)); err == nil {
			u.Volumes[v.Name] = int64(n)
		}
	}
}

// evicting is whether the pod was evicted already: it is stopping, its
// Failed status may not have reached the API yet, and a second round
// must neither evict it again nor count it.
func (e *evictionManager) evicting(pod *corev1.Pod) bool {
	e.k.mu.Lock()
	w := e.k.workers[pod.UID]
	e.k.mu.Unlock()
	return w != nil && w.evictedMessage() != ""
}

// evict has the pod's worker kill it with the Failed/Evicted status and
// records the Evicted event; it waits (a while) for the pod to stop.
func (e *evictionManager) evict(ctx context.Context, pod *corev1.Pod, msg string) bool {
	k := e.k
	k.mu.Lock()
	w := k.workers[pod.UID]
	k.mu.Unlock()
	if w == nil {
		return false
	}
	k.log.Warn("evicting pod", "pod", klogName(pod), "message", msg)
	k.recorder.Event(pod, corev1.EventTypeWarning, "Evicted", msg)
	w.evict(msg)
	deadline := time.Now().Add(podCleanupTimeout)
	for time.Now().Before(deadline) {
		state, err := k.podState(ctx, pod.UID)
		if err == nil && !state.running() {
			return true
		}
		select {
		case <-ctx.Done():
			return true
		case <-time.After(time.Second):
		}
	}
	k.log.Warn("evicted pod did not stop in time", "pod", klogName(pod), "timeout", podCleanupTimeout)
	return true
}
