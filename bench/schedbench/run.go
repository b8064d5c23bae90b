package schedbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kemudi/kemudi/bench/apibench"
	"github.com/kemudi/kemudi/bench/harness"
)

// Workloads.
const (
	// Basic is scheduler_perf's SchedulingBasic.
	Basic = "basic"
	// AntiAffinity is scheduler_perf's SchedulingPodAntiAffinity.
	AntiAffinity = "antiaffinity"
)

// Options configure a run.
type Options struct {
	Workload string
	// Nodes to simulate (default 5,000); Pods to measure (default
	// 10,000 for basic, 2,000 for anti-affinity) after InitPods placed
	// first (default 0 for basic, 1,000 for anti-affinity), created by
	// Clients clients (default 32).
	Nodes, Pods, InitPods, Clients int
	// RunPods makes the simulated nodes run the pods bound to them
	// (status Running and Ready, as a kubelet would). By default they
	// leave them Pending, as scheduler_perf's nodes do: the benchmark
	// measures scheduling, not a kubelet's status writes.
	RunPods bool
	// SchedulerProcess runs the scheduler as `kemudi scheduler`, a
	// process of its own, to measure it apart from the server.
	SchedulerProcess bool
	// Settle is the wait after the nodes are registered, so that the
	// scheduler has seen them and the first lease renewals are spread
	// (default 10s).
	Settle time.Duration
	// BindTimeout bounds the wait for the last binding after the last
	// create (default 2 minutes).
	BindTimeout time.Duration
	// CPUProfile and HeapProfile, if set, are where the server's
	// profiles go: CPU from the first create for CPUProfileDuration
	// (default 10s), heap after the run.
	CPUProfile         string
	CPUProfileDuration time.Duration
	HeapProfile        string
	Server             harness.Options
	// Progress receives a line per phase; Output the other processes'
	// output.
	Progress, Output io.Writer
}

func (o *Options) defaults() {
	if o.Workload == "" {
		o.Workload = Basic
	}
	if o.Nodes <= 0 {
		o.Nodes = 5000
	}
	if o.Pods <= 0 {
		o.Pods = 10000
		if o.Workload == AntiAffinity {
			o.Pods = 2000
		}
	}
	if o.InitPods < 0 {
		o.InitPods = 0
	} else if o.InitPods == 0 && o.Workload == AntiAffinity {
		o.InitPods = 1000
	}
	if o.Clients <= 0 {
		o.Clients = 32
	}
	if o.Settle == 0 {
		o.Settle = 10 * time.Second
	}
	if o.BindTimeout == 0 {
		o.BindTimeout = 2 * time.Minute
	}
	if o.CPUProfileDuration == 0 {
		o.CPUProfileDuration = 10 * time.Second
	}
}

// Usage is a process's CPU over the measured window and its memory
// after it.
type Usage struct {
	CPU time.Duration
	Mem harness.Memory
}

// Result is what a run measured.
type Result struct {
	Workload                     string
	Nodes, Pods, InitPods        int
	Clients                      int
	SchedulerProcess, RunPods    bool
	Created, Failed, Bound       int
	Rebound, Unexpected, Restart int
	Errors                       []string
	// Duration is from the first create's start to the last binding
	// seen.
	Duration   time.Duration
	PodsPerSec float64
	// CreateToBound is create request start to the bound event; Create
	// the create requests themselves.
	CreateToBound, Create apibench.Latencies
	// CreatesDone is when the last create returned, after the first
	// started.
	CreatesDone time.Duration

	Server, Scheduler, Sim Usage
	ClientCPU, MachineCPU  time.Duration
	Registration           time.Duration
	LoadBefore, LoadAfter  string
	Logs                   map[string]string
}

// Run starts the processes, runs the workload and stops everything.
func Run(ctx context.Context, opts Options) (*Result, error) {
	opts.defaults()
	progress := func(format string, args ...any) {
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, "schedbench: "+format+"\n", args...)
		}
	}
	res := &Result{
		Workload: opts.Workload, Nodes: opts.Nodes, Pods: opts.Pods, InitPods: opts.InitPods, Clients: opts.Clients,
		SchedulerProcess: opts.SchedulerProcess, RunPods: opts.RunPods, LoadBefore: harness.LoadAvg(), Logs: map[string]string{},
	}
	if opts.SchedulerProcess {
		opts.Server.Args = append(opts.Server.Args, "--disable", "scheduler")
	}
	bin, cleanBin, err := harness.Binary(ctx, opts.Server.Binary)
	if err != nil {
		return nil, err
	}
	defer cleanBin()
	opts.Server.Binary = bin

	progress("starting kemudi server")
	srv, err := harness.Start(ctx, opts.Server)
	if err != nil {
		return nil, err
	}
	defer srv.Close()

	var sched *harness.Process
	var schedProfiles string
	if opts.SchedulerProcess {
		progress("starting kemudi scheduler")
		port, err := harness.FreePort()
		if err != nil {
			return nil, err
		}
		schedProfiles = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		sched, err = harness.StartProcess("scheduler", bin, "scheduler started", opts.Output,
			"scheduler", "--kubeconfig", srv.Kubeconfig, "--leader-elect=false", "--profiling-address", schedProfiles)
		if err != nil {
			return nil, err
		}
		defer sched.Stop(30 * time.Second)
	}
	progress("registering %d simulated nodes", opts.Nodes)
	regStart := time.Now()
	simArgs := []string{"sim-nodes", "--kubeconfig", srv.Kubeconfig, "--count", strconv.Itoa(opts.Nodes)}
	if !opts.RunPods {
		simArgs = append(simArgs, "--leave-pods")
	}
	sim, err := harness.StartProcess("sim-nodes", bin, "nodes registered", opts.Output, simArgs...)
	if err != nil {
		return nil, err
	}
	defer sim.Stop(30 * time.Second)
	if err := sim.WaitReady(5 * time.Minute); err != nil {
		return nil, err
	}
	res.Registration = time.Since(regStart)
	if sched != nil {
		if err := sched.WaitReady(time.Minute); err != nil {
			return nil, err
		}
	}
	progress("%d nodes registered in %s; settling %s", opts.Nodes, res.Registration.Round(time.Millisecond), opts.Settle)
	select {
	case <-time.After(opts.Settle):
	case <-ctx.Done():
		return nil, ctx.Err()
	}

	admin, err := newClient(srv.Config, "admin")
	if err != nil {
		return nil, err
	}
	const ns = "bench"
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("create namespace: %w", err)
	}
	clients := make([]kubernetes.Interface, opts.Clients)
	for i := range clients {
		if clients[i], err = newClient(srv.Config, strconv.Itoa(i)); err != nil {
			return nil, err
		}
	}
	watchClient, err := newClient(srv.Config, "watch")
	if err != nil {
		return nil, err
	}

	if opts.InitPods > 0 {
		progress("placing %d pods first", opts.InitPods)
		if _, _, err := runPods(ctx, clients, watchClient, ns, "init", opts.InitPods, opts.Workload, opts.BindTimeout); err != nil {
			return nil, fmt.Errorf("initial pods: %w", err)
		}
	}

	profErr, profiles := make(chan error, 2), 0
	if opts.CPUProfile != "" {
		profiles++
		go func() { profErr <- srv.CPUProfile(ctx, opts.CPUProfileDuration, opts.CPUProfile) }()
		if sched != nil {
			profiles++
			secs := int(opts.CPUProfileDuration.Seconds())
			go func() {
				profErr <- fetch(ctx, schedProfiles, fmt.Sprintf("profile?seconds=%d", secs), opts.CPUProfile+".scheduler")
			}()
		}
	}
	progress("creating %d %s pods with %d clients", opts.Pods, opts.Workload, opts.Clients)
	cpu0 := snapshotCPU(srv, sched, sim)
	m, w, err := runPods(ctx, clients, watchClient, ns, "bench", opts.Pods, opts.Workload, opts.BindTimeout)
	if err != nil && m == nil {
		return nil, err
	}
	cpu1 := snapshotCPU(srv, sched, sim)
	res.fill(m, w)
	res.Server.CPU, res.Scheduler.CPU, res.Sim.CPU = cpu1.server-cpu0.server, cpu1.sched-cpu0.sched, cpu1.sim-cpu0.sim
	res.ClientCPU, res.MachineCPU = cpu1.self-cpu0.self, cpu1.machine-cpu0.machine
	res.Server.Mem, _ = srv.Memory()
	if sched != nil {
		res.Scheduler.Mem, _ = harness.ReadMemory(sched.PID)
	}
	res.Sim.Mem, _ = harness.ReadMemory(sim.PID)
	progress("%d of %d bound in %s", res.Bound, res.Pods, res.Duration.Round(time.Millisecond))

	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	for range profiles {
		if err := <-profErr; err != nil {
			errs = append(errs, err)
		}
	}
	if opts.HeapProfile != "" {
		if err := srv.HeapProfile(ctx, opts.HeapProfile); err != nil {
			errs = append(errs, err)
		}
		if sched != nil {
			if err := fetch(ctx, schedProfiles, "heap?gc=1", opts.HeapProfile+".scheduler"); err != nil {
				errs = append(errs, err)
			}
		}
	}
	res.LoadAfter = harness.LoadAvg()
	for _, p := range []*harness.Process{sched, sim} {
		if p != nil {
			l := p.Logs()
			res.Logs[p.Name] = fmt.Sprintf("%d warnings, %d errors %q", l.Warnings, l.Errors, l.Samples[:min(len(l.Samples), 5)])
		}
	}
	if err := srv.Stop(); err != nil {
		errs = append(errs, fmt.Errorf("stop server: %w", err))
	}
	sl := srv.Logs()
	res.Logs["server"] = fmt.Sprintf("%d warnings, %d errors %q", sl.Warnings, sl.Errors, sl.Samples)
	return res, errors.Join(errs...)
}

// fetch writes http://addr/debug/pprof/<what> to path.
func fetch(ctx context.Context, addr, what, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/debug/pprof/"+what, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("scheduler profile: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("scheduler profile %s: %s", what, resp.Status)
	}
	return os.WriteFile(path, body, 0o644)
}

type cpuSnapshot struct{ server, sched, sim, self, machine time.Duration }

func snapshotCPU(srv *harness.Server, sched, sim *harness.Process) cpuSnapshot {
	var s cpuSnapshot
	s.server, _ = harness.CPUTime(srv.PID)
	if sched != nil {
		s.sched, _ = harness.CPUTime(sched.PID)
	}
	s.sim, _ = harness.CPUTime(sim.PID)
	s.self = harness.SelfCPUTime()
	s.machine, _ = harness.MachineCPUTime()
	return s
}

// measurement is what the creating clients saw.
type measurement struct {
	starts, ends []time.Time
	ok           []bool
	failed       int
	errs         []string
}

// runPods creates n pods named prefix-NNNNNN with the clients while a
// watch notes their bindings, and waits for every created pod to be
// bound (or timeout after the last create).
func runPods(ctx context.Context, clients []kubernetes.Interface, watchClient kubernetes.Interface, ns, prefix string, n int, workload string, timeout time.Duration) (*measurement, *watcher, error) {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%06d", prefix, i)
	}
	w := newWatcher(watchClient, ns, names)
	wi, err := w.start(ctx)
	if err != nil {
		return nil, nil, err
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go w.run(watchCtx, wi)

	m := &measurement{starts: make([]time.Time, n), ends: make([]time.Time, n), ok: make([]bool, n)}
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				p := benchPod(ns, names[i], workload)
				m.starts[i] = time.Now()
				_, err := c.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
				m.ends[i] = time.Now()
				if err == nil {
					m.ok[i] = true
					continue
				}
				mu.Lock()
				m.failed++
				if len(m.errs) < 10 {
					m.errs = append(m.errs, fmt.Sprintf("%s: %v", names[i], err))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	w.expect <- m.ok
	select {
	case <-w.done:
	case <-time.After(timeout):
		stopWatch()
		<-w.done
		return m, w, fmt.Errorf("not every pod was bound %s after the last create", timeout)
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	stopWatch()
	return m, w, nil
}

func (r *Result) fill(m *measurement, w *watcher) {
	if m == nil {
		return
	}
	r.Failed, r.Errors = m.failed, m.errs
	var first, lastBound, lastCreate time.Time
	var lat, create []time.Duration
	for i := range m.starts {
		if m.starts[i].IsZero() {
			continue
		}
		if first.IsZero() || m.starts[i].Before(first) {
			first = m.starts[i]
		}
		lastCreate = maxTime(lastCreate, m.ends[i])
		if !m.ok[i] {
			continue
		}
		r.Created++
		create = append(create, m.ends[i].Sub(m.starts[i]))
		if at := w.bound[i]; !at.IsZero() {
			r.Bound++
			lat = append(lat, at.Sub(m.starts[i]))
			lastBound = maxTime(lastBound, at)
		}
	}
	r.Duration = lastBound.Sub(first)
	if r.Duration > 0 {
		r.PodsPerSec = float64(r.Bound) / r.Duration.Seconds()
	}
	r.CreatesDone = lastCreate.Sub(first)
	r.CreateToBound = apibench.Summarize(lat)
	r.Create = apibench.Summarize(create)
	r.Rebound, r.Unexpected, r.Restart = w.rebound, w.unexpected, w.restarts
	r.Errors = append(r.Errors, w.errs...)
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// benchPod is scheduler_perf's pod: one container asking 100m cpu and
// 500Mi, a container port; anti-affinity pods are labelled color=green
// and refuse to share a node with another.
func benchPod(ns, name, workload string) *corev1.Pod {
	rl := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("500Mi")}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "pause", Image: "registry.k8s.io/pause:3.10.2",
			Ports:     []corev1.ContainerPort{{ContainerPort: 80}},
			Resources: corev1.ResourceRequirements{Requests: rl, Limits: rl},
		}}},
	}
	if workload == AntiAffinity {
		p.Labels = map[string]string{"color": "green"}
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"color": "green"}},
				TopologyKey:   corev1.LabelHostname,
			}},
		}}
	}
	return p
}
