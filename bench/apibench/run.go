package apibench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/bench/harness"
)

// Options configure a run.
type Options struct {
	// Pods to create (default 10,000) by Clients clients (default 32).
	Pods, Clients int
	// Protobuf makes the clients and the watch speak protobuf instead of
	// JSON.
	Protobuf bool
	// Namespace holds the pods (default "bench").
	Namespace string
	// Identity is who the create clients are: IdentityAdmin (default,
	// system:masters) or IdentityRBAC (a user a RoleBinding allows).
	Identity string
	// Settle is the idle time after start before the idle RSS is read
	// (default 5s).
	Settle time.Duration
	// EventTimeout bounds the wait for missing events after the last
	// create (default 30s); what has not arrived by then is lost.
	EventTimeout time.Duration
	// CPUProfile, if set, is where a CPU profile of the server taken
	// from the first create on, for CPUProfileDuration (default 20s),
	// is written. HeapProfile, if set, is where a heap profile taken
	// after the run is written.
	CPUProfile         string
	CPUProfileDuration time.Duration
	HeapProfile        string
	// InstallProfile, if set, is where the custom resource run writes a
	// CPU profile of the server taken from the start of the CRD
	// install, for CPUProfileDuration.
	InstallProfile string
	// Policy binds one ValidatingAdmissionPolicy (a CEL rule) to the pod
	// creates, to measure what a bound policy costs per create.
	Policy bool
	// Webhook registers one validating admission webhook (on loopback,
	// allowing everything) for the pod creates, to measure what calling
	// a webhook costs per create.
	Webhook bool
	// LatencyPods, if above 0, adds a low-concurrency phase after the
	// throughput one: one client makes this many creates in Namespace
	// and as many in a namespace nothing selects, one at a time,
	// alternately (see LatencyRun).
	LatencyPods int
	// Server configures the server process.
	Server harness.Options
	// Progress, if set, receives a line per phase.
	Progress io.Writer
}

func (o *Options) defaults() {
	if o.Pods <= 0 {
		o.Pods = 10000
	}
	if o.Clients <= 0 {
		o.Clients = 32
	}
	if o.Namespace == "" {
		o.Namespace = "bench"
	}
	if o.Settle == 0 {
		o.Settle = 5 * time.Second
	}
	if o.EventTimeout == 0 {
		o.EventTimeout = 30 * time.Second
	}
	if o.CPUProfileDuration == 0 {
		o.CPUProfileDuration = 20 * time.Second
	}
}

// Result is what a run measured.
type Result struct {
	Pods, Clients int
	Encoding      string
	// Identity the create clients acted as.
	Identity string
	// Policy is true when a ValidatingAdmissionPolicy was bound to the
	// creates.
	Policy bool
	// Webhook is true when a validating webhook was called on every
	// create; WebhookCalls counts its calls.
	Webhook      bool
	WebhookCalls int64

	// Created pods; Failed creates, with the first few errors.
	Created, Failed int
	Errors          []string
	// Duration is from the first create's start to the last response.
	Duration      time.Duration
	CreatesPerSec float64
	Create        Latencies
	// CreateCost is what the server spent from the first create to the
	// last event: CPU and Go allocations, which the machine's other load
	// changes little, unlike the latencies.
	CreateCost phaseCost
	// Latency is the low-concurrency phase, nil unless asked for.
	Latency *LatencyRun
	// Delivery is create response to ADDED event (clamped at 0);
	// FromStart is create request start to ADDED event.
	Delivery, FromStart Latencies
	// EventsEarly counts events that arrived before their create's
	// response (delivery clamped to 0).
	EventsEarly int

	// Lost is how many created pods' ADDED never arrived; Duplicates,
	// Unexpected and WatchRestarts are oddities of the watch.
	Lost, Duplicates, Unexpected, WatchRestarts int
	WatchErrors                                 []string

	// Dials is the connections each create client opened (each should
	// be 1); Established the TCP connections to the server's port after
	// the creates (create clients, the watch, the admin client).
	MinDials, MaxDials, TotalDials int
	Established                    int
	// Warnings is the API's Warning headers on creates.
	Warnings int64

	// Memory of the server process: just ready, idle after Settle, and
	// after the run.
	MemStart, MemIdle, MemAfter harness.Memory
	// ServerCPU and ClientCPU are the CPU time the server and this
	// process used from the first create to the last event; OtherCPU
	// what every other process on the machine used meanwhile (other
	// work competing for the cores makes the figures worse).
	ServerCPU, ClientCPU, OtherCPU time.Duration
	// Elapsed is from the first create to the last event.
	Elapsed time.Duration
	// LoadBefore and LoadAfter are the machine's load averages.
	LoadBefore, LoadAfter string
	// ServerLogs are the server's warnings and errors; StopErr whether
	// it stopped cleanly on SIGTERM.
	ServerLogs harness.LogSummary
	StopErr    error
}

const maxErrors = 10

// Run starts a server, runs the benchmark against it and stops it.
func Run(ctx context.Context, opts Options) (*Result, error) {
	opts.defaults()
	progress := func(format string, args ...any) {
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, "apibench: "+format+"\n", args...)
		}
	}
	res := &Result{Pods: opts.Pods, Clients: opts.Clients, Encoding: "json", Identity: opts.Identity, LoadBefore: harness.LoadAvg()}
	if res.Identity == "" {
		res.Identity = IdentityAdmin
	}
	if opts.Protobuf {
		res.Encoding = "protobuf"
	}

	// The API server with its etcd, as upstream's figures are for
	// kube-apiserver and etcd: no scheduler or controllers acting on the
	// pods.
	serverOpts := opts.Server
	if serverOpts.Role == "" {
		serverOpts.Role = "apiserver"
	}
	progress("starting kemudi %s", serverOpts.Role)
	srv, err := harness.Start(ctx, serverOpts)
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	if res.MemStart, err = srv.Memory(); err != nil {
		return nil, err
	}
	progress("ready on %s (pid %d, %s); settling %s", srv.URL, srv.PID, res.MemStart, opts.Settle)
	select {
	case <-time.After(opts.Settle):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if res.MemIdle, err = srv.Memory(); err != nil {
		return nil, err
	}
	progress("idle: %s", res.MemIdle)

	var warnings atomic.Int64
	admin, err := newClient(srv.Config, "admin", false, &warnings)
	if err != nil {
		return nil, err
	}
	if err := createNamespace(ctx, admin, opts.Namespace); err != nil {
		return nil, err
	}
	if opts.Policy {
		res.Policy = true
		progress("binding a ValidatingAdmissionPolicy to pod creates")
		if err := installPolicy(ctx, admin, opts.Namespace); err != nil {
			return nil, err
		}
	}

	if opts.Webhook {
		res.Webhook = true
		progress("registering a validating webhook for pod creates")
		ws, err := installWebhook(ctx, admin, opts.Namespace)
		if err != nil {
			return nil, err
		}
		defer func() { res.WebhookCalls = ws.calls.Load(); ws.Close() }()
	}

	names := make([]string, opts.Pods)
	pods := make([]*corev1.Pod, opts.Pods)
	for i := range pods {
		names[i] = fmt.Sprintf("bench-%06d", i)
		pods[i] = smallPod(opts.Namespace, names[i])
	}
	watchClient, err := newClient(srv.Config, "watch", opts.Protobuf, &warnings)
	if err != nil {
		return nil, err
	}
	w := newWatcher(watchClient, opts.Namespace, names)
	wi, err := w.start(ctx)
	if err != nil {
		return nil, err
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go w.run(watchCtx, wi)

	createCfg, err := identityConfig(ctx, srv, admin, opts.Identity, opts.Namespace)
	if err != nil {
		return nil, err
	}
	clients := make([]*client, opts.Clients)
	for i := range clients {
		if clients[i], err = newClient(createCfg, fmt.Sprintf("%d", i), opts.Protobuf, &warnings); err != nil {
			return nil, err
		}
	}
	if err := waitAllowed(ctx, clients[0], opts.Namespace); err != nil {
		return nil, err
	}

	var profErr chan error
	if opts.CPUProfile != "" {
		profErr = make(chan error, 1)
		go func() { profErr <- srv.CPUProfile(ctx, opts.CPUProfileDuration, opts.CPUProfile) }()
		progress("recording a %s CPU profile to %s", opts.CPUProfileDuration, opts.CPUProfile)
	}

	progress("creating %d pods with %d %s clients", opts.Pods, opts.Clients, res.Encoding)
	counters0 := readCounters(ctx, srv)
	serverCPU0, _ := harness.CPUTime(srv.PID)
	clientCPU0 := harness.SelfCPUTime()
	machineCPU0, _ := harness.MachineCPUTime()
	began := time.Now()
	starts := make([]time.Time, opts.Pods)
	ends := make([]time.Time, opts.Pods)
	ok := make([]bool, opts.Pods)
	var (
		next   atomic.Int64
		wg     sync.WaitGroup
		errMu  sync.Mutex
		failed int
	)
	for _, c := range clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= opts.Pods || ctx.Err() != nil {
					return
				}
				starts[i] = time.Now()
				_, err := c.CoreV1().Pods(opts.Namespace).Create(ctx, pods[i], metav1.CreateOptions{})
				ends[i] = time.Now()
				if err == nil {
					ok[i] = true
					continue
				}
				errMu.Lock()
				failed++
				if len(res.Errors) < maxErrors {
					res.Errors = append(res.Errors, fmt.Sprintf("%s: %v", names[i], err))
				}
				errMu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res.Established, _ = harness.EstablishedConns(srv.Port)
	w.expect <- ok

	eventCtx, cancel := context.WithTimeout(ctx, opts.EventTimeout)
	select {
	case <-w.done:
	case <-eventCtx.Done():
	}
	cancel()
	stopWatch()
	<-w.done
	serverCPU1, _ := harness.CPUTime(srv.PID)
	machineCPU1, _ := harness.MachineCPUTime()
	res.Elapsed = time.Since(began)
	res.ServerCPU = serverCPU1 - serverCPU0
	res.CreateCost = readCounters(ctx, srv).since(counters0)
	res.ClientCPU = harness.SelfCPUTime() - clientCPU0
	res.OtherCPU = max(0, machineCPU1-machineCPU0-res.ServerCPU-res.ClientCPU)
	if res.MemAfter, err = srv.Memory(); err != nil {
		return nil, err
	}
	progress("creates done; after: %s", res.MemAfter)

	res.Failed = failed
	res.fill(starts, ends, ok, w)
	res.MinDials, res.MaxDials = int(clients[0].dials.Load()), 0
	for _, c := range clients {
		d := int(c.dials.Load())
		res.TotalDials += d
		res.MinDials = min(res.MinDials, d)
		res.MaxDials = max(res.MaxDials, d)
	}
	res.Warnings = warnings.Load()

	var errs []error
	if profErr != nil {
		if err := <-profErr; err != nil {
			errs = append(errs, err)
		}
	}
	if opts.LatencyPods > 0 {
		progress("latency: %d creates in %s and in %s, one at a time", opts.LatencyPods, opts.Namespace, plainNamespace(opts.Namespace))
		if res.Latency, err = runLatency(ctx, srv, clients[0], opts.Namespace, opts.LatencyPods); err != nil {
			return nil, err
		}
	}
	if opts.HeapProfile != "" {
		if err := srv.HeapProfile(ctx, opts.HeapProfile); err != nil {
			errs = append(errs, err)
		}
		progress("heap profile written to %s", opts.HeapProfile)
	}
	res.LoadAfter = harness.LoadAvg()
	res.StopErr = srv.Stop()
	res.ServerLogs = srv.Logs()
	return res, errors.Join(errs...)
}

func (r *Result) fill(starts, ends []time.Time, ok []bool, w *watcher) {
	var first, last time.Time
	create := make([]time.Duration, 0, len(starts))
	var delivery, fromStart []time.Duration
	for i := range starts {
		if starts[i].IsZero() {
			continue
		}
		if first.IsZero() || starts[i].Before(first) {
			first = starts[i]
		}
		if ends[i].After(last) {
			last = ends[i]
		}
		if !ok[i] {
			continue
		}
		r.Created++
		create = append(create, ends[i].Sub(starts[i]))
		at := w.arrived[i]
		if at.IsZero() {
			r.Lost++
			continue
		}
		d := at.Sub(ends[i])
		if d < 0 {
			d = 0
			r.EventsEarly++
		}
		delivery = append(delivery, d)
		fromStart = append(fromStart, at.Sub(starts[i]))
	}
	r.Duration = last.Sub(first)
	if r.Duration > 0 {
		r.CreatesPerSec = float64(r.Created) / r.Duration.Seconds()
	}
	r.Create = Summarize(create)
	r.Delivery = Summarize(delivery)
	r.FromStart = Summarize(fromStart)
	r.Duplicates, r.Unexpected, r.WatchRestarts = w.duplicates, w.unexpected, w.restarts
	r.WatchErrors = w.errs
}

// smallPod is the pod the benchmark creates: one busybox container and
// two labels. Nothing schedules or runs it.
func smallPod(ns, name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: ns,
			Labels:    map[string]string{"app": "apibench", "apibench.kemudi.io/run": "pod-creates"},
		},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "main", Image: "busybox"}},
		},
	}
}

// createNamespace creates ns, retrying briefly while the server is still
// creating its system objects.
func createNamespace(ctx context.Context, c *client, ns string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
	for {
		_, err := c.CoreV1().Namespaces().Create(ctx, obj, metav1.CreateOptions{})
		if err == nil || apierrors.IsAlreadyExists(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("create namespace %s: %w", ns, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Summary is a one-line summary of r.
func (r *Result) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d/%d pods (%s, %d clients) in %s: %.0f creates/s, p50 %.1f ms, p99 %.1f ms; watch p99 %.1f ms, lost %d; rss idle %.1f MiB, after %.1f MiB, peak %.1f MiB",
		r.Created, r.Pods, r.Encoding, r.Clients, r.Duration.Round(time.Millisecond), r.CreatesPerSec,
		ms(r.Create.P50), ms(r.Create.P99), ms(r.Delivery.P99), r.Lost,
		harness.MiB(r.MemIdle.RSS), harness.MiB(r.MemAfter.RSS), harness.MiB(r.MemAfter.Peak))
	return b.String()
}
