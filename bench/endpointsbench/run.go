package endpointsbench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/kemudi/kemudi/bench/apibench"
	"github.com/kemudi/kemudi/bench/harness"
)

// Options configure a run.
type Options struct {
	// Pods behind the service (default 1,000), on Nodes simulated nodes
	// (default 20); Flips readiness changes measured one at a time
	// (default 40).
	Pods, Nodes, Flips int
	// Timeout bounds each wait (default 30 s).
	Timeout time.Duration
	Server  harness.Options
	// Progress receives a line per phase.
	Progress io.Writer
}

func (o *Options) defaults() {
	if o.Pods <= 0 {
		o.Pods = 1000
	}
	if o.Nodes <= 0 {
		o.Nodes = 20
	}
	if o.Flips <= 0 {
		o.Flips = 40
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
}

// Result is what a run measured.
type Result struct {
	Pods, Nodes, Flips, Missed int
	// Converge is first create to every pod in the Endpoints and slices.
	Converge time.Duration
	// GateToReady, ReadyToEndpoints and ReadyToSlice are per flip.
	GateToReady, ReadyToEndpoints, ReadyToSlice apibench.Latencies
	// AllReady is every gate set at once until every address is ready.
	AllReady   time.Duration
	ServerMem  harness.Memory
	ServerCPU  time.Duration
	LoadBefore string
	LoadAfter  string
}

const (
	ns   = "bench"
	gate = "bench.kemudi.io/ready"
)

// Run starts the server and the nodes, runs the workload and stops
// everything.
func Run(ctx context.Context, opts Options) (*Result, error) {
	opts.defaults()
	progress := func(format string, args ...any) {
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, "endpointsbench: "+format+"\n", args...)
		}
	}
	res := &Result{Pods: opts.Pods, Nodes: opts.Nodes, Flips: opts.Flips, LoadBefore: harness.LoadAvg()}
	opts.Server.Args = append(opts.Server.Args, "--disable", "scheduler")
	cluster, err := harness.StartCluster(ctx, opts.Server, opts.Nodes, ns, progress)
	if err != nil {
		return nil, err
	}
	defer cluster.Close()
	// The watches end before the nodes and the server.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv, c := cluster.Server, cluster.Client
	if _, err := c.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
		},
	}, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("create service: %w", err)
	}
	tr := newTracker()
	if err := tr.watch(ctx, c); err != nil {
		return nil, err
	}

	progress("creating %d pods", opts.Pods)
	names := make([]string, opts.Pods)
	for i := range names {
		names[i] = fmt.Sprintf("web-%04d", i)
	}
	nodes := cluster.Nodes.Names()
	start := time.Now()
	var failed atomic.Int32
	parallel(opts.Pods, func(i int) {
		if _, err := c.CoreV1().Pods(ns).Create(ctx, benchPod(names[i], nodes[i%opts.Nodes]), metav1.CreateOptions{}); err != nil {
			failed.Add(1)
		}
	})
	if n := failed.Load(); n > 0 {
		return nil, fmt.Errorf("%d pod creates failed", n)
	}
	if err := tr.waitFor(ctx, opts.Timeout*4, func() bool {
		return tr.endpointCount == opts.Pods && tr.sliceCount == opts.Pods
	}); err != nil {
		tr.mu.Lock()
		endpoints, slices := tr.endpointCount, tr.sliceCount
		tr.mu.Unlock()
		return nil, fmt.Errorf("endpoints never listed every pod (endpoints %d, slices %d): %w", endpoints, slices, err)
	}
	res.Converge = time.Since(start)
	progress("%d pods in the endpoints after %s", opts.Pods, res.Converge.Round(time.Millisecond))

	cpuBefore, _ := harness.CPUTime(srv.PID)
	var gateToReady, toEndpoints, toSlice []time.Duration
	half := opts.Flips / 2
	for i := 0; i < opts.Flips; i++ {
		idx := (i % max(half, 1)) * 7919 % opts.Pods
		name := names[idx]
		target := i < half || half == 0
		t0 := time.Now()
		if err := setGate(ctx, c, name, target); err != nil {
			return nil, err
		}
		err := tr.waitFor(ctx, opts.Timeout, func() bool {
			return tr.pods[name].ready == target && tr.endpoints[name].ready == target && tr.slices[name].ready == target
		})
		if err != nil {
			res.Missed++
			continue
		}
		tr.mu.Lock()
		p, e, s := tr.pods[name], tr.endpoints[name], tr.slices[name]
		tr.mu.Unlock()
		gateToReady = append(gateToReady, p.at.Sub(t0))
		toEndpoints = append(toEndpoints, max(e.at.Sub(p.at), 0))
		toSlice = append(toSlice, max(s.at.Sub(p.at), 0))
	}
	res.GateToReady = apibench.Summarize(gateToReady)
	res.ReadyToEndpoints = apibench.Summarize(toEndpoints)
	res.ReadyToSlice = apibench.Summarize(toSlice)
	progress("%d flips: ready->endpoints p50 %s max %s", opts.Flips, res.ReadyToEndpoints.P50, res.ReadyToEndpoints.Max)

	progress("setting every gate")
	start = time.Now()
	parallel(opts.Pods, func(i int) { _ = setGate(ctx, c, names[i], true) })
	if err := tr.waitFor(ctx, opts.Timeout*4, func() bool { return tr.readyLocked() == opts.Pods }); err != nil {
		return nil, fmt.Errorf("every address never ready (%d): %w", tr.readyEndpoints(), err)
	}
	res.AllReady = time.Since(start)
	cpuAfter, _ := harness.CPUTime(srv.PID)
	res.ServerCPU = cpuAfter - cpuBefore
	res.ServerMem, _ = srv.Memory()
	res.LoadAfter = harness.LoadAvg()
	return res, nil
}

// parallel calls fn(i) for i in [0, n) from 16 goroutines.
func parallel(n int, fn func(i int)) {
	var next atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				fn(i)
			}
		})
	}
	wg.Wait()
}

func benchPod(name, node string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{
			NodeName:       node,
			ReadinessGates: []corev1.PodReadinessGate{{ConditionType: gate}},
			Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27", Ports: []corev1.ContainerPort{
				{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP},
			}}},
		},
	}
}

func setGate(ctx context.Context, c kubernetes.Interface, name string, ready bool) error {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	patch, err := json.Marshal(map[string]any{"status": map[string]any{"conditions": []map[string]any{
		{"type": gate, "status": status, "lastTransitionTime": time.Now().UTC().Format(time.RFC3339)},
	}}})
	if err != nil {
		return err
	}
	_, err = c.CoreV1().Pods(ns).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	return err
}

// state is what was last seen of a pod in one place, and when it changed.
type state struct {
	ready bool
	at    time.Time
}

// tracker follows pods, the Endpoints object and the slices through
// watches, noting when each pod's readiness changed in each.
type tracker struct {
	mu                        sync.Mutex
	changed                   *sync.Cond
	pods, endpoints, slices   map[string]state
	endpointCount, sliceCount int
	// sliceMembers are the pods of each slice, to count them.
	sliceMembers map[string]map[string]bool
}

func newTracker() *tracker {
	t := &tracker{pods: map[string]state{}, endpoints: map[string]state{}, slices: map[string]state{}, sliceMembers: map[string]map[string]bool{}}
	t.changed = sync.NewCond(&t.mu)
	return t
}

func (t *tracker) set(m map[string]state, name string, ready bool, now time.Time) {
	if s, ok := m[name]; !ok || s.ready != ready {
		m[name] = state{ready: ready, at: now}
	}
}

func (t *tracker) readyEndpoints() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.readyLocked()
}

// readyLocked counts the ready addresses; callers hold mu.
func (t *tracker) readyLocked() int {
	n := 0
	for _, s := range t.endpoints {
		if s.ready {
			n++
		}
	}
	return n
}

// waitFor waits until cond (called with mu held) holds.
func (t *tracker) waitFor(ctx context.Context, timeout time.Duration, cond func() bool) error {
	deadline := time.AfterFunc(timeout, func() {
		t.mu.Lock()
		t.changed.Broadcast()
		t.mu.Unlock()
	})
	defer deadline.Stop()
	end := time.Now().Add(timeout)
	t.mu.Lock()
	defer t.mu.Unlock()
	for !cond() {
		if time.Now().After(end) {
			return fmt.Errorf("timed out after %s", timeout)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		t.changed.Wait()
	}
	return nil
}

func (t *tracker) watch(ctx context.Context, c kubernetes.Interface) error {
	pw, err := c.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		return err
	}
	ew, err := c.CoreV1().Endpoints(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=web"})
	if err != nil {
		return err
	}
	sw, err := c.DiscoveryV1().EndpointSlices(ns).Watch(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=web"})
	if err != nil {
		return err
	}
	go t.consume(pw, func(obj any, now time.Time) {
		p, ok := obj.(*corev1.Pod)
		if !ok {
			return
		}
		ready := false
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady {
				ready = c.Status == corev1.ConditionTrue
			}
		}
		t.set(t.pods, p.Name, ready, now)
	})
	go t.consume(ew, func(obj any, now time.Time) {
		ep, ok := obj.(*corev1.Endpoints)
		if !ok {
			return
		}
		n := 0
		for _, s := range ep.Subsets {
			for _, a := range s.Addresses {
				if a.TargetRef != nil {
					t.set(t.endpoints, a.TargetRef.Name, true, now)
					n++
				}
			}
			for _, a := range s.NotReadyAddresses {
				if a.TargetRef != nil {
					t.set(t.endpoints, a.TargetRef.Name, false, now)
					n++
				}
			}
		}
		t.endpointCount = n
	})
	go t.consume(sw, func(obj any, now time.Time) {
		s, ok := obj.(*discoveryv1.EndpointSlice)
		if !ok {
			return
		}
		members := map[string]bool{}
		for _, e := range s.Endpoints {
			if e.TargetRef == nil {
				continue
			}
			members[e.TargetRef.Name] = true
			t.set(t.slices, e.TargetRef.Name, e.Conditions.Ready != nil && *e.Conditions.Ready, now)
		}
		t.sliceMembers[s.Name] = members
		n := 0
		for _, m := range t.sliceMembers {
			n += len(m)
		}
		t.sliceCount = n
	})
	return nil
}

// consume applies every event of w (deletions of slices drop their
// members) until the watch ends.
func (t *tracker) consume(w watch.Interface, apply func(obj any, now time.Time)) {
	defer w.Stop()
	for ev := range w.ResultChan() {
		now := time.Now()
		t.mu.Lock()
		switch ev.Type {
		case watch.Added, watch.Modified:
			apply(ev.Object, now)
		case watch.Deleted:
			if s, ok := ev.Object.(*discoveryv1.EndpointSlice); ok {
				delete(t.sliceMembers, s.Name)
			}
		}
		t.changed.Broadcast()
		t.mu.Unlock()
	}
}
