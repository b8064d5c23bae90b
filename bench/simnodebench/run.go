package simnodebench

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/kemudi/kemudi/bench/apibench"
	"github.com/kemudi/kemudi/bench/harness"
	"github.com/kemudi/kemudi/internal/apiclient"
)

// Options configure a run.
type Options struct {
	// Nodes to simulate (default 5,000); Pods to bind to them (default
	// 10,000), created by Clients goroutines (default 32).
	Nodes, Pods, Clients int
	// Idle is the idle measurement window (default 60s).
	Idle time.Duration
	// Namespace holds the pods (default "simbench").
	Namespace string
	// ReadyTimeout bounds the wait for every pod to be Ready after the
	// last create (default 5 minutes).
	ReadyTimeout time.Duration
	// Server configures the server process; its Binary also runs
	// sim-nodes.
	Server harness.Options
	// Progress, if set, receives a line per phase.
	Progress io.Writer
}

func (o *Options) defaults() {
	if o.Nodes <= 0 {
		o.Nodes = 5000
	}
	if o.Pods <= 0 {
		o.Pods = 10000
	}
	if o.Clients <= 0 {
		o.Clients = 32
	}
	if o.Idle <= 0 {
		o.Idle = time.Minute
	}
	if o.Namespace == "" {
		o.Namespace = "simbench"
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 5 * time.Minute
	}
}

// renewInterval is sim-nodes' default lease renewal interval.
const renewInterval = 10 * time.Second

// Phase is the CPU used over one phase, by process.
type Phase struct {
	Elapsed                  time.Duration
	Sim, Server, Self, Other time.Duration
}

// Cores is d as a share of the phase's wall time.
func (p Phase) Cores(d time.Duration) float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return d.Seconds() / p.Elapsed.Seconds()
}

// Result is what a run measured.
type Result struct {
	Nodes, Pods, Clients int

	// Register is sim-nodes' start to every node registered.
	Register    time.Duration
	RegisterCPU Phase
	// NodesReady counts Ready nodes after the idle window; LeasesFound
	// the leases, OldestLease the stalest renewTime's age then.
	NodesReady, LeasesFound   int
	OldestLease               time.Duration
	Idle                      Phase
	SimMemIdle, ServerMemIdle harness.Memory

	// Created pods and Failed creates, with the first few errors; Ready
	// is how many the watch saw Running and Ready.
	Created, Failed, Ready int
	Errors                 []string
	PodsPhase              Phase
	// CreatesDone is from the first create to the last one's response.
	CreatesDone                 time.Duration
	RunningPerSec               float64
	CreateToReady               apibench.Latencies
	SimMemAfter, ServerMemAfter harness.Memory

	SimWarnings, SimErrors int
	SimSamples             []string
	ServerLogs             harness.LogSummary
	LoadBefore, LoadAfter  string
	SimStopErr, StopErr    error
}

// Run starts a server and sim-nodes beside it, measures, and stops both.
func Run(ctx context.Context, opts Options) (*Result, error) {
	opts.defaults()
	progress := func(format string, args ...any) {
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, "simnodebench: "+format+"\n", args...)
		}
	}
	res := &Result{Nodes: opts.Nodes, Pods: opts.Pods, Clients: opts.Clients, LoadBefore: harness.LoadAvg()}
	bin, cleanBin, err := harness.Binary(ctx, opts.Server.Binary)
	if err != nil {
		return nil, err
	}
	defer cleanBin()
	opts.Server.Binary = bin
	srv, err := harness.Start(ctx, opts.Server)
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	client, err := kubernetes.NewForConfig(apiclient.Protobuf(srv.Config))
	if err != nil {
		return nil, err
	}

	progress("starting sim-nodes --count %d", opts.Nodes)
	meter := newMeter(srv.PID)
	sim, err := harness.StartProcess("sim-nodes", bin, "nodes registered", nil,
		"sim-nodes", "--kubeconfig", srv.Kubeconfig, "--count", strconv.Itoa(opts.Nodes))
	if err != nil {
		return nil, err
	}
	meter.sim = sim.PID
	stopSim := func() {
		if sim != nil {
			res.SimStopErr = sim.Stop(30 * time.Second)
			l := sim.Logs()
			res.SimWarnings, res.SimErrors, res.SimSamples = l.Warnings, l.Errors, l.Samples[:min(len(l.Samples), 10)]
			sim = nil
		}
	}
	defer stopSim()
	mark := meter.mark()
	if err := sim.WaitReady(10 * time.Minute); err != nil {
		return nil, err
	}
	res.RegisterCPU = meter.since(mark)
	res.Register = res.RegisterCPU.Elapsed
	progress("%d nodes registered in %s; settling for a renewal round", opts.Nodes, res.Register.Round(time.Millisecond))

	select {
	case <-time.After(renewInterval):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	progress("idle window of %s", opts.Idle)
	mark = meter.mark()
	select {
	case <-time.After(opts.Idle):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	res.Idle = meter.since(mark)
	res.SimMemIdle, _ = harness.ReadMemory(meter.sim)
	res.ServerMemIdle, _ = srv.Memory()
	if err := res.checkNodes(ctx, client); err != nil {
		return nil, err
	}
	progress("idle: sim %.2f cores, server %.2f cores; oldest lease %s", res.Idle.Cores(res.Idle.Sim), res.Idle.Cores(res.Idle.Server), res.OldestLease.Round(time.Millisecond))

	progress("creating %d pods bound to the nodes", opts.Pods)
	if err := res.runPods(ctx, client, opts, meter); err != nil {
		return nil, err
	}
	res.SimMemAfter, _ = harness.ReadMemory(meter.sim)
	res.ServerMemAfter, _ = srv.Memory()
	res.LoadAfter = harness.LoadAvg()
	stopSim()
	res.StopErr = srv.Stop()
	res.ServerLogs = srv.Logs()
	return res, nil
}

// checkNodes counts Ready nodes and finds the stalest lease.
func (r *Result) checkNodes(ctx context.Context, c kubernetes.Interface) error {
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	for _, n := range nodes.Items {
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				r.NodesReady++
			}
		}
	}
	leases, err := c.CoordinationV1().Leases(corev1.NamespaceNodeLease).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list leases: %w", err)
	}
	now := time.Now()
	for _, l := range leases.Items {
		r.LeasesFound++
		if l.Spec.RenewTime != nil {
			r.OldestLease = max(r.OldestLease, now.Sub(l.Spec.RenewTime.Time))
		}
	}
	return nil
}

const maxErrors = 10

// runPods creates the pods, bound to the nodes round-robin, and waits
// for the watch to see each Running and Ready.
func (r *Result) runPods(ctx context.Context, c kubernetes.Interface, opts Options, meter *meter) error {
	ns := opts.Namespace
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace: %w", err)
	}
	list, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list pods: %w", err)
	}
	created := make([]time.Time, opts.Pods) // create responses, by pod index
	ready := make([]time.Time, opts.Pods)
	var mu sync.Mutex
	var readyCount atomic.Int64
	allReady := make(chan struct{})
	wctx, cancelWatch := context.WithCancel(ctx)
	defer cancelWatch()
	watchDone := make(chan error, 1)
	go func() {
		watchDone <- watchReady(wctx, c, ns, list.ResourceVersion, func(i int, at time.Time) {
			mu.Lock()
			defer mu.Unlock()
			if i < 0 || i >= len(ready) || !ready[i].IsZero() {
				return
			}
			ready[i] = at
			if readyCount.Add(1) == int64(opts.Pods) {
				close(allReady)
			}
		})
	}()

	mark := meter.mark()
	var next atomic.Int64
	var failed atomic.Int64
	var errMu sync.Mutex
	var wg sync.WaitGroup
	for range opts.Clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= opts.Pods || ctx.Err() != nil {
					return
				}
				_, err := c.CoreV1().Pods(ns).Create(ctx, boundPod(ns, i, opts.Nodes), metav1.CreateOptions{})
				now := time.Now()
				if err != nil {
					failed.Add(1)
					errMu.Lock()
					if len(r.Errors) < maxErrors {
						r.Errors = append(r.Errors, err.Error())
					}
					errMu.Unlock()
					continue
				}
				mu.Lock()
				created[i] = now
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	r.CreatesDone = time.Since(mark.at)
	r.Failed = int(failed.Load())
	r.Created = opts.Pods - r.Failed
	if r.Failed == 0 {
		select {
		case <-allReady:
		case err := <-watchDone:
			return fmt.Errorf("pod watch ended: %v", err)
		case <-time.After(opts.ReadyTimeout):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	mu.Lock()
	defer mu.Unlock()
	var last time.Time
	var lat []time.Duration
	for i := range ready {
		if ready[i].IsZero() || created[i].IsZero() {
			continue
		}
		r.Ready++
		last = maxTime(last, ready[i])
		lat = append(lat, max(0, ready[i].Sub(created[i])))
	}
	r.PodsPhase = meter.since(mark)
	if !last.IsZero() {
		r.PodsPhase.Elapsed = last.Sub(mark.at)
		r.RunningPerSec = float64(r.Ready) / r.PodsPhase.Elapsed.Seconds()
	}
	r.CreateToReady = apibench.Summarize(lat)
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// watchReady watches the namespace's pods from rv and calls seen with
// the index of each pod Running and Ready, reopening the watch where it
// left off if it ends.
func watchReady(ctx context.Context, c kubernetes.Interface, ns, rv string, seen func(i int, at time.Time)) error {
	for ctx.Err() == nil {
		w, err := c.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true})
		if err != nil {
			return fmt.Errorf("watch pods: %w", err)
		}
		for ev := range w.ResultChan() {
			if ev.Type == watch.Error {
				w.Stop()
				return fmt.Errorf("watch pods: %v", ev.Object)
			}
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			rv = p.ResourceVersion
			if p.Status.Phase == corev1.PodRunning && podReady(p) {
				var i int
				if _, err := fmt.Sscanf(p.Name, "sim-%d", &i); err == nil {
					seen(i, time.Now())
				}
			}
		}
	}
	return ctx.Err()
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// boundPod is pod i, bound to node i mod nodes: best effort, one
// container.
func boundPod(ns string, i, nodes int) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("sim-%d", i), Namespace: ns, Labels: map[string]string{"app": "simbench"}},
		Spec: corev1.PodSpec{
			NodeName:   fmt.Sprintf("node-%04d", i%nodes),
			Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:v1"}},
		},
	}
}

// meter reads the CPU time of the server, sim-nodes, this process and
// the whole machine.
type meter struct{ server, sim int }

type mark struct {
	at                         time.Time
	server, sim, self, machine time.Duration
}

func newMeter(server int) *meter { return &meter{server: server} }

func (m *meter) mark() mark {
	k := mark{at: time.Now(), self: harness.SelfCPUTime()}
	k.server, _ = harness.CPUTime(m.server)
	if m.sim != 0 {
		k.sim, _ = harness.CPUTime(m.sim)
	}
	k.machine, _ = harness.MachineCPUTime()
	return k
}

func (m *meter) since(a mark) Phase {
	b := m.mark()
	p := Phase{Elapsed: b.at.Sub(a.at), Sim: b.sim - a.sim, Server: b.server - a.server, Self: b.self - a.self}
	p.Other = max(0, b.machine-a.machine-p.Sim-p.Server-p.Self)
	return p
}
