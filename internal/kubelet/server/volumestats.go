package server

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/kemudi/kemudi/internal/kubelet/volume"
)

// DefaultVolumeStatsAggPeriod is how often volumes are measured
// (upstream's --volume-stats-agg-period).
const DefaultVolumeStatsAggPeriod = time.Minute

// measure is how a volume's figures are taken, per plugin as upstream.
type measure int

const (
	// measureNone: the volume has no figures (hostPath, whose directory
	// is the host's; sources this kubelet does not serve).
	measureNone measure = iota
	// measureDu: walk the volume's directory for its usage; the
	// filesystem's size from statfs.
	measureDu
	// measureDuOnce: as measureDu, taken once and kept (upstream
	// caches the figures of API-content volumes, which barely change).
	measureDuOnce
	// measureClaim: the claim's persistent volume says (measureOf a PV).
	measureClaim
	// measureStatfs: the whole filesystem's figures (local PVs).
	measureStatfs
)

// volumeMeasure is how a pod volume is measured, and whether it is a
// local ephemeral volume (counted in the pod's ephemeral storage and
// listed first): emptyDir on disk and configMap, as upstream; secrets,
// downward API, projected and memory-backed emptyDirs are listed with
// the persistent ones.
func volumeMeasure(v *corev1.Volume) (m measure, localEphemeral bool) {
	switch {
	case v.EmptyDir != nil:
		return measureDu, v.EmptyDir.Medium == corev1.StorageMediumDefault
	case v.ConfigMap != nil:
		return measureDuOnce, true
	case v.Secret != nil, v.DownwardAPI != nil, v.Projected != nil:
		return measureDuOnce, false
	case v.PersistentVolumeClaim != nil, v.Ephemeral != nil:
		return measureClaim, false
	}
	return measureNone, false
}

// pvMeasure is how a claim's persistent volume is measured: a local
// volume by statfs of its path (upstream's local plugin), a hostPath one
// not at all (upstream's hostPath plugin has no metrics).
func pvMeasure(pv *corev1.PersistentVolume) (measure, string) {
	if l := pv.Spec.Local; l != nil {
		return measureStatfs, l.Path
	}
	return measureNone, ""
}

// podVolumeStats are a pod's volumes' figures: local ephemeral volumes
// first, then the others, each sorted by name, as upstream lists them.
type podVolumeStats struct {
	ephemeral, persistent []VolumeStats
}

func (p podVolumeStats) all() []VolumeStats {
	return append(slices.Clone(p.ephemeral), p.persistent...)
}

// volumeStatsCache measures the node's pods' volumes in the background,
// every period, and keeps the figures: walking directories is costly,
// so requests are served from here, never measured on the fly.
type volumeStatsCache struct {
	period  time.Duration
	podsDir string
	client  kubernetes.Interface
	pods    func() ([]*corev1.Pod, error)
	log     *slog.Logger

	mu    sync.RWMutex
	byPod map[types.UID]podVolumeStats
	// pvs are claims' volumes by pod uid/volume: a bound claim keeps its
	// volume for the pod's life.
	pvs map[string]*corev1.PersistentVolume
}

func newVolumeStatsCache(period time.Duration, podsDir string, client kubernetes.Interface, pods func() ([]*corev1.Pod, error), log *slog.Logger) *volumeStatsCache {
	if period == 0 {
		period = DefaultVolumeStatsAggPeriod
	}
	return &volumeStatsCache{period: period, podsDir: podsDir, client: client, pods: pods, log: log,
		byPod: map[types.UID]podVolumeStats{}, pvs: map[string]*corev1.PersistentVolume{}}
}

// run measures at once (once synced says the pod cache is filled), then
// every period until ctx ends.
func (c *volumeStatsCache) run(ctx context.Context, synced func() bool) {
	if c.period < 0 {
		return // turned off: no volume is ever measured
	}
	for !synced() {
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
	t := time.NewTicker(c.period)
	defer t.Stop()
	for {
		c.update(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// update measures every pod's volumes and forgets pods that are gone.
func (c *volumeStatsCache) update(ctx context.Context) {
	pods, err := c.pods()
	if err != nil {
		c.log.Warn("volume stats: list pods", "err", err)
		return
	}
	seen := map[types.UID]bool{}
	for _, pod := range pods {
		uid := localUID(pod)
		seen[uid] = true
		c.mu.RLock()
		prev := c.byPod[uid]
		c.mu.RUnlock()
		st := c.measurePod(ctx, pod, prev)
		c.mu.Lock()
		c.byPod[uid] = st
		c.mu.Unlock()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for uid := range c.byPod {
		if !seen[uid] {
			delete(c.byPod, uid)
		}
	}
	for key := range c.pvs {
		uid, _, _ := strings.Cut(key, "/")
		if !seen[types.UID(uid)] {
			delete(c.pvs, key)
		}
	}
}

// get is a pod's last figures.
func (c *volumeStatsCache) get(uid types.UID) (podVolumeStats, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	st, ok := c.byPod[uid]
	return st, ok
}

// claimed are the figures of every claim-backed volume, each claim once.
func (c *volumeStatsCache) claimed() []VolumeStats {
	c.mu.RLock()
	defer c.mu.RUnlock()
	seen := map[PVCReference]bool{}
	var out []VolumeStats
	for _, st := range c.byPod {
		for _, v := range st.all() {
			if v.PVCRef == nil || seen[*v.PVCRef] {
				continue
			}
			seen[*v.PVCRef] = true
			out = append(out, v)
		}
	}
	return out
}

// measurePod takes the figures of the pod's volumes that are set up on
// the node; prev are its last ones (kept for measureDuOnce volumes).
func (c *volumeStatsCache) measurePod(ctx context.Context, pod *corev1.Pod, prev podVolumeStats) podVolumeStats {
	var out podVolumeStats
	// A finished pod's volumes are torn down: none to measure.
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return out
	}
	kept := map[string]VolumeStats{}
	for _, v := range prev.all() {
		kept[v.Name] = v
	}
	if c.podsDir == "" {
		return out
	}
	used := volume.InUse(pod)
	podDir := volume.PodDir(c.podsDir, localUID(pod))
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		m, eph := volumeMeasure(v)
		var st VolumeStats
		var err error
		switch m {
		case measureNone:
			continue
		case measureDuOnce:
			if k, ok := kept[v.Name]; ok {
				st = k
				break
			}
			st, err = duStats(volume.Dir(podDir, volume.Plugin(v), v.Name))
		case measureDu:
			st, err = duStats(volume.Dir(podDir, volume.Plugin(v), v.Name))
		case measureClaim:
			if !used[v.Name] {
				// Not set up by the kubelet (no container uses it).
				continue
			}
			var ok bool
			st, ok, err = c.claimStats(ctx, pod, v)
			if err == nil && !ok {
				continue
			}
		}
		if err != nil {
			// Not set up yet, or gone: no figures, as upstream.
			c.log.Debug("volume stats", "pod", pod.Namespace+"/"+pod.Name, "volume", v.Name, "err", err)
			continue
		}
		st.Name = v.Name
		if claim := volume.ClaimName(pod, v); claim != "" {
			st.PVCRef = &PVCReference{Name: claim, Namespace: pod.Namespace}
		}
		if eph {
			out.ephemeral = append(out.ephemeral, st)
		} else {
			out.persistent = append(out.persistent, st)
		}
	}
	byName := func(a, b VolumeStats) int { return strings.Compare(a.Name, b.Name) }
	slices.SortFunc(out.ephemeral, byName)
	slices.SortFunc(out.persistent, byName)
	return out
}

// localUID is the pod's UID on the node: a static pod's mirror in the
// API has a UID of its own, and names the static pod's in an annotation.
func localUID(pod *corev1.Pod) types.UID {
	if uid := pod.Annotations[corev1.MirrorPodAnnotationKey]; uid != "" {
		return types.UID(uid)
	}
	return pod.UID
}

// claimStats are the figures of a claim's volume; false when its kind
// of volume has none.
func (c *volumeStatsCache) claimStats(ctx context.Context, pod *corev1.Pod, v *corev1.Volume) (VolumeStats, bool, error) {
	pv, err := c.claimVolume(ctx, pod, v)
	if err != nil {
		return VolumeStats{}, false, err
	}
	m, path := pvMeasure(pv)
	if m != measureStatfs {
		return VolumeStats{}, false, nil
	}
	fs, err := statfs(path)
	if err != nil {
		return VolumeStats{}, false, err
	}
	fs.UsedBytes, fs.InodesUsed = u64(fs.used), u64(fs.inodesUsed)
	return VolumeStats{FsStats: fs.FsStats}, true, nil
}

// claimVolume is the persistent volume bound to the claim a pod's volume
// names, asked of the API once per pod and volume.
func (c *volumeStatsCache) claimVolume(ctx context.Context, pod *corev1.Pod, v *corev1.Volume) (*corev1.PersistentVolume, error) {
	key := string(localUID(pod)) + "/" + v.Name
	c.mu.RLock()
	cached := c.pvs[key]
	c.mu.RUnlock()
	if cached != nil {
		return cached, nil
	}
	pv, err := volume.ResolveClaim(ctx, c.client, pod, v)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.pvs[key] = pv
	c.mu.Unlock()
	return pv, nil
}
