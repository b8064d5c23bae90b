package cribench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Target is one CRI runtime to measure.
type Target struct {
	Name     string
	Endpoint string // unix:///.../cri.sock
	// Image is what the pods' containers run (busybox), pulled by the
	// benchmark; Prepull are images pulled first and not timed (the
	// sandbox image of a runtime that has one).
	Image   string
	Prepull []string
	// CgroupRoot is the cgroupfs path the pods' cgroups are made under.
	CgroupRoot string
	// LogDir holds the pods' logs.
	LogDir string
	// Processes lists the runtime's own processes now.
	Processes func() []int
}

// Options are the sizes of a run.
type Options struct {
	Alone int // repetitions of one pod alone
	Pods  int // pods at once
	// Settle is how long a runtime rests after a burst of calls before
	// its memory is read: a runtime at rest, as the targets mean,
	// has returned the burst's garbage and pages.
	Settle time.Duration
}

// Result is what Run measured of one target.
type Result struct {
	Name string
	Pull time.Duration
	// Medians of one pod alone.
	RunPodSandbox, CreateStart, PodToRunning, StopRemove time.Duration
	// Pods at once.
	Pods                     int
	P50, P99, Max, StartWall time.Duration
	StartErrors              int
	FirstError               string
	Teardown                 time.Duration
	TeardownErrors           int
	CPUPerPod                time.Duration
	// RSS at rest (Options.Settle after the last call): idle (no pod)
	// and with the pods running; and right after the calls (Now).
	IdleRSS, BusyRSS       uint64
	IdleRSSNow, BusyRSSNow uint64
	IdleProcs, BusyProcs   int
	// The processes the runtime keeps in the pods' cgroups besides their
	// workload (pause processes), with the pods running: RSS and anonymous
	// memory summed, and their count.
	PodKeptRSS, PodKeptAnon uint64
	PodKept                 int
	// CPUByPart splits the CPU of the pods at once: each runtime process's
	// ("kemudi runtime 1.2 s") and the pods' cgroups'.
	CPUByPart []string
	// IdleByProcess is each idle process's RSS ("kemudi-supervisor 9.1 MiB
	// (anon 1.0, file 8.1)").
	IdleByProcess []string
}

type client struct {
	rs runtimeapi.RuntimeServiceClient
	is runtimeapi.ImageServiceClient
	t  Target
}

// Run measures t (see the package doc).
func Run(ctx context.Context, t Target, o Options) (Result, error) {
	conn, err := grpc.NewClient(t.Endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return Result{}, err
	}
	defer conn.Close()
	c := &client{rs: runtimeapi.NewRuntimeServiceClient(conn), is: runtimeapi.NewImageServiceClient(conn), t: t}
	r := Result{Name: t.Name, Pods: o.Pods}
	// containerd's CNI config is a template of the node's pod CIDR, which
	// the kubelet gives: give it here, the same to both.
	if _, err := c.rs.UpdateRuntimeConfig(ctx, &runtimeapi.UpdateRuntimeConfigRequest{
		RuntimeConfig: &runtimeapi.RuntimeConfig{NetworkConfig: &runtimeapi.NetworkConfig{PodCidr: "10.42.0.0/24"}},
	}); err != nil {
		return r, fmt.Errorf("%s: update runtime config: %w", t.Name, err)
	}
	for _, img := range t.Prepull {
		if _, err := c.is.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: img}}); err != nil {
			return r, fmt.Errorf("%s: pull %s: %w", t.Name, img, err)
		}
	}
	t0 := time.Now()
	if _, err := c.is.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: t.Image}}); err != nil {
		return r, fmt.Errorf("%s: pull %s: %w", t.Name, t.Image, err)
	}
	r.Pull = time.Since(t0)
	if err := c.alone(ctx, o.Alone, &r); err != nil {
		return r, err
	}
	r.IdleRSSNow, _ = rss(t.Processes())
	if err := settle(ctx, o.Settle); err != nil {
		return r, err
	}
	idle := t.Processes()
	r.IdleRSS, r.IdleProcs = rss(idle)
	r.IdleByProcess = rssByProcess(idle)
	return r, c.many(ctx, o.Pods, o.Settle, &r)
}

// alone runs one pod at a time, n times, and keeps the medians.
func (c *client) alone(ctx context.Context, n int, r *Result) error {
	var runp, cs, total, stop []time.Duration
	for i := range n {
		t0 := time.Now()
		pod, cfg, err := c.runPod(ctx, fmt.Sprintf("alone-%d", i))
		if err != nil {
			return err
		}
		t1 := time.Now()
		if err := c.runContainer(ctx, pod, cfg); err != nil {
			return err
		}
		t2 := time.Now()
		if err := c.removePod(ctx, pod); err != nil {
			return err
		}
		runp, cs, total, stop = append(runp, t1.Sub(t0)), append(cs, t2.Sub(t1)), append(total, t2.Sub(t0)), append(stop, time.Since(t2))
	}
	r.RunPodSandbox, r.CreateStart, r.PodToRunning, r.StopRemove = median(runp), median(cs), median(total), median(stop)
	return nil
}

// many starts n pods at once, then stops and removes them all at once.
func (c *client) many(ctx context.Context, n int, rest time.Duration, r *Result) error {
	procs0 := cpuByPid(c.t.Processes())
	cg0 := cgroupCPU(c.t.CgroupRoot)
	lat := make([]time.Duration, n)
	pods, ctrs := make([]string, n), make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			t0 := time.Now()
			pod, cfg, err := c.runPod(ctx, fmt.Sprintf("many-%d", i))
			pods[i] = pod
			if err == nil {
				ctrs[i], err = c.startContainer(ctx, pod, cfg)
			}
			lat[i], errs[i] = time.Since(t0), err
		})
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	r.StartWall = time.Since(t0)
	procs := c.t.Processes()
	procs1 := cpuByPid(procs)
	cgCPU := cgroupCPU(c.t.CgroupRoot) - cg0
	cpu := cpuDelta(procs0, procs1) + cgCPU
	r.CPUByPart = append(cpuByProcess(procs0, procs1), fmt.Sprintf("pod cgroups %.0f ms", float64(cgCPU.Microseconds())/1000))
	r.CPUPerPod = cpu / time.Duration(n)
	r.BusyRSSNow, _ = rss(procs)
	if err := settle(ctx, rest); err != nil {
		return err
	}
	r.BusyRSS, r.BusyProcs = rss(c.t.Processes())
	r.PodKeptRSS, r.PodKeptAnon, r.PodKept = memory(podKept(c.t.CgroupRoot, ctrs))
	var ok []time.Duration
	for i, err := range errs {
		if err != nil {
			r.StartErrors++
			if r.FirstError == "" {
				r.FirstError = err.Error()
			}
			continue
		}
		ok = append(ok, lat[i])
	}
	slices.Sort(ok)
	if len(ok) > 0 {
		r.P50, r.P99, r.Max = percentile(ok, 50), percentile(ok, 99), ok[len(ok)-1]
	}

	var terrs int
	var mu sync.Mutex
	t1 := time.Now()
	for _, pod := range pods {
		if pod == "" {
			continue
		}
		wg.Go(func() {
			if err := c.removePod(ctx, pod); err != nil {
				mu.Lock()
				terrs++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	r.Teardown, r.TeardownErrors = time.Since(t1), terrs
	return nil
}

func (c *client) runPod(ctx context.Context, name string) (string, *runtimeapi.PodSandboxConfig, error) {
	cfg := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: name, Namespace: "cribench", Uid: "uid-" + name},
		Hostname:     name,
		LogDirectory: filepath.Join(c.t.LogDir, name),
		Linux:        &runtimeapi.LinuxPodSandboxConfig{CgroupParent: "/" + c.t.CgroupRoot + "/pod-" + name},
	}
	resp, err := c.rs.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		return "", nil, fmt.Errorf("%s: run pod %s: %w", c.t.Name, name, err)
	}
	return resp.PodSandboxId, cfg, nil
}

func (c *client) runContainer(ctx context.Context, pod string, podCfg *runtimeapi.PodSandboxConfig) error {
	_, err := c.startContainer(ctx, pod, podCfg)
	return err
}

// startContainer creates and starts the pod's container and returns its id.
func (c *client) startContainer(ctx context.Context, pod string, podCfg *runtimeapi.PodSandboxConfig) (string, error) {
	resp, err := c.rs.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{
		PodSandboxId: pod,
		Config: &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "sleep"},
			Image:    &runtimeapi.ImageSpec{Image: c.t.Image},
			Command:  []string{"sleep", "100000"},
			LogPath:  "sleep.log",
			Linux:    &runtimeapi.LinuxContainerConfig{},
		},
		SandboxConfig: podCfg,
	})
	if err != nil {
		return "", fmt.Errorf("%s: create container in %s: %w", c.t.Name, pod, err)
	}
	if _, err := c.rs.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: resp.ContainerId}); err != nil {
		return "", fmt.Errorf("%s: start container %s: %w", c.t.Name, resp.ContainerId, err)
	}
	return resp.ContainerId, nil
}

func (c *client) removePod(ctx context.Context, pod string) error {
	if _, err := c.rs.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: pod}); err != nil {
		return fmt.Errorf("%s: stop pod %s: %w", c.t.Name, pod, err)
	}
	if _, err := c.rs.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: pod}); err != nil {
		return fmt.Errorf("%s: remove pod %s: %w", c.t.Name, pod, err)
	}
	return nil
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// percentile of sorted durations, nearest rank.
func percentile(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p+99)/100 - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// cgroupCPU is the CPU time used in the cgroup at root (a cgroupfs path)
// and below: cpuacct on cgroup v1, cpu.stat on v2; 0 if neither is there.
func cgroupCPU(root string) time.Duration {
	if b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/cpuacct", root, "cpuacct.usage")); err == nil {
		var ns int64
		if _, err := fmt.Sscan(string(b), &ns); err == nil {
			return time.Duration(ns)
		}
	}
	if b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", root, "cpu.stat")); err == nil {
		var usec int64
		if _, err := fmt.Sscanf(string(b), "usage_usec %d", &usec); err == nil {
			return time.Duration(usec) * time.Microsecond
		}
	}
	return 0
}

// settle waits d, the runtime left alone.
func settle(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
