package cri

import (
	"context"
	"path/filepath"
	"sync"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/cri/metrics"
	"github.com/kemudi/kemudi/internal/cri/network"
)

// metricsSource is the runtime's reader of containers' figures, made at
// the first scrape (it reads the host's cgroup mounts once).
type metricsSource struct {
	once      sync.Once
	collector *metrics.Collector
	err       error
}

func (m *metricsSource) get() (*metrics.Collector, error) {
	m.once.Do(func() { m.collector, m.err = metrics.NewCollector() })
	return m.collector, m.err
}

// ListMetricDescriptors lists cAdvisor's series that ListPodSandboxMetrics
// reports.
func (r *Runtime) ListMetricDescriptors(context.Context, *runtimeapi.ListMetricDescriptorsRequest) (*runtimeapi.ListMetricDescriptorsResponse, error) {
	return &runtimeapi.ListMetricDescriptorsResponse{Descriptors: metrics.Descriptors()}, nil
}

// ListPodSandboxMetrics reports cAdvisor's series for every ready pod: its
// network counters, and for each running container its CPU, memory,
// pressure, processes, writable layer and block IO. A container that
// exited meanwhile is left out.
func (r *Runtime) ListPodSandboxMetrics(ctx context.Context, _ *runtimeapi.ListPodSandboxMetricsRequest) (*runtimeapi.ListPodSandboxMetricsResponse, error) {
	col, err := r.metrics.get()
	if err != nil {
		return nil, grpcError(err)
	}
	byPod := map[string][]container{}
	for _, c := range r.containers.list() {
		if c.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
			byPod[c.SandboxID] = append(byPod[c.SandboxID], c)
		}
	}
	// Every writable layer is under the image store, on one filesystem.
	layerFS, fsErr := col.Filesystem(filepath.Join(r.opts.Root, "images"))
	if fsErr != nil {
		r.log.Debug("metrics: image filesystem", "err", fsErr)
	}
	now := time.Now()
	resp := &runtimeapi.ListPodSandboxMetricsResponse{PodMetrics: []*runtimeapi.PodSandboxMetrics{}}
	for _, sb := range r.sandboxes.list() {
		if ctx.Err() != nil {
			return nil, grpcError(ctx.Err())
		}
		if sb.State != runtimeapi.PodSandboxState_SANDBOX_READY {
			continue
		}
		md := sb.Config.GetMetadata()
		pod := metrics.Pod{ID: sb.ID, Name: md.GetName(), Namespace: md.GetNamespace()}
		pm := &runtimeapi.PodSandboxMetrics{PodSandboxId: sb.ID}
		if sb.NetNS != "" && !sb.hostNetwork() {
			if ifs, err := network.NetStats(sb.NetNS); err == nil {
				pm.Metrics = metrics.PodNetwork(pod, ifs, now)
			} else {
				r.log.Debug("metrics: pod network", "sandbox", sb.ID, "err", err)
			}
		}
		for _, c := range byPod[sb.ID] {
			in := metrics.Container{
				Pod: pod, Name: c.Config.GetMetadata().GetName(), ID: c.ID, Image: c.ImageName,
				CgroupPath: filepath.Join(sb.CgroupParent, c.ID), Pid: c.Pid,
			}
			if c.StartedAt > 0 {
				in.StartedAt = time.Unix(0, c.StartedAt)
			}
			if fsErr == nil {
				if u, err := r.images.RootfsUsage(c.rootfsKey()); err == nil {
					in.Layer = &metrics.Layer{Bytes: u.Bytes, Inodes: u.Inodes, FS: layerFS}
				}
			}
			cm, err := col.Container(in, now)
			if err != nil {
				r.log.Debug("metrics: container", "id", c.ID, "err", err)
				continue
			}
			pm.ContainerMetrics = append(pm.ContainerMetrics, cm)
		}
		resp.PodMetrics = append(resp.PodMetrics, pm)
	}
	return resp, nil
}
