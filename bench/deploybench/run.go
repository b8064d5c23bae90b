package deploybench

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/kemudi/kemudi/bench/harness"
)

// Options configure a run.
type Options struct {
	// Deployments (default 500) of Replicas (default 20) pods each, on
	// Nodes simulated nodes (default: room for every pod and the surge,
	// at 110 pods a node).
	Deployments, Replicas, Nodes int
	// Clients writing concurrently (default 16).
	Clients int
	// Timeout bounds each phase (default 10 min).
	Timeout time.Duration
	// ProfileDir, if set, receives the server's CPU profile of the first
	// 8 s of each phase (<phase>.cpu.pprof) and its heap after the
	// update (heap-after-update.pprof).
	ProfileDir string
	Server     harness.Options
	// Progress receives a line per phase.
	Progress io.Writer
}

func (o *Options) defaults() {
	if o.Deployments <= 0 {
		o.Deployments = 500
	}
	if o.Replicas <= 0 {
		o.Replicas = 20
	}
	if o.Nodes <= 0 {
		o.Nodes = (o.Deployments*(o.Replicas+maxSurge(o.Replicas)))/100 + 1
	}
	if o.Clients <= 0 {
		o.Clients = 16
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Minute
	}
}

// maxSurge and maxUnavailable are the defaults' (25%: surge rounds up,
// unavailable down).
func maxSurge(replicas int) int       { return (replicas*25 + 99) / 100 }
func maxUnavailable(replicas int) int { return replicas * 25 / 100 }

// Phase is one timed step.
type Phase struct {
	Name string
	// Pods is how many pods the phase had to bring up (or remove);
	// Created how many the controllers created.
	Pods, Created int
	Took          time.Duration
	// Half is when half the pods were there (available, or gone).
	Half time.Duration
	// Latency of the pods brought up.
	Latency Latency
	// Writes are the API writes made during the phase.
	Writes Requests
}

// Result is what a run measured.
type Result struct {
	Deployments, Replicas, Nodes int
	Phases                       []Phase
	// MostPods is the most pods any one Deployment had at once, and
	// FewestAvailable the fewest available during the update; Allowed
	// their bounds.
	MostPods, FewestAvailable     int
	AllowedPods, AllowedAvailable int
	ServerCPU                     time.Duration
	ServerMem                     harness.Memory
	LoadBefore, LoadAfter         string
}

const ns = "bench"

// Run starts the server and the nodes, runs the phases and stops
// everything.
func Run(ctx context.Context, opts Options) (*Result, error) {
	opts.defaults()
	progress := func(format string, args ...any) {
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, "deploybench: "+format+"\n", args...)
		}
	}
	res := &Result{
		Deployments: opts.Deployments, Replicas: opts.Replicas, Nodes: opts.Nodes, LoadBefore: harness.LoadAvg(),
		AllowedPods: opts.Replicas + maxSurge(opts.Replicas), AllowedAvailable: opts.Replicas - maxUnavailable(opts.Replicas),
	}
	cluster, err := harness.StartCluster(ctx, opts.Server, opts.Nodes, ns, progress)
	if err != nil {
		return nil, err
	}
	defer cluster.Close()
	// The watch ends before the nodes and the server.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv, c := cluster.Server, cluster.Client
	pods, err := watchPods(ctx, c)
	if err != nil {
		return nil, err
	}
	names := make([]string, opts.Deployments)
	for i := range names {
		names[i] = fmt.Sprintf("web-%04d", i)
	}
	cpuBefore, _ := harness.CPUTime(srv.PID)
	total := opts.Deployments * opts.Replicas
	// await polls the tracker until done says the phase is over, noting
	// when half of it was.
	await := func(what string, start time.Time, half, done func() bool) (took, halfway time.Duration, err error) {
		err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, opts.Timeout, true, func(context.Context) (bool, error) {
			if halfway == 0 && half() {
				halfway = time.Since(start)
			}
			return done(), nil
		})
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w (%s)", what, err, pods.summary())
		}
		return time.Since(start), halfway, nil
	}
	// One CPU profile at a time: a phase's starts when the last ends.
	var profiling sync.Mutex
	profile := func(name string) {
		if opts.ProfileDir == "" {
			return
		}
		go func() {
			profiling.Lock()
			defer profiling.Unlock()
			path := filepath.Join(opts.ProfileDir, name+".cpu.pprof")
			if err := srv.CPUProfile(ctx, 8*time.Second, path); err != nil && ctx.Err() == nil {
				progress("profile %s: %v", name, err)
			}
		}()
	}
	counts, _ := requestCounts(ctx, c)
	phase := func(name string, n int, took, half time.Duration, lat Latency) {
		p := Phase{Name: name, Pods: n, Created: pods.takeCreated(), Took: took, Half: half, Latency: lat}
		if now, err := requestCounts(ctx, c); err == nil {
			p.Writes, counts = diff(counts, now), now
		}
		res.Phases = append(res.Phases, p)
		progress("%s: %d pods in %s (%.0f pods/s; %d created)", name, n, took.Round(time.Millisecond), float64(n)/took.Seconds(), p.Created)
	}

	// Create.
	progress("creating %d deployments of %d replicas", opts.Deployments, opts.Replicas)
	start := time.Now()
	profile("create")
	if err := parallel(ctx, opts.Clients, names, func(ctx context.Context, name string) error {
		_, err := c.AppsV1().Deployments(ns).Create(ctx, deployment(name, int32(opts.Replicas)), metav1.CreateOptions{})
		return err
	}); err != nil {
		return nil, err
	}
	image := "nginx:1"
	took, half, err := await("create", start,
		func() bool { return pods.available(image) >= total/2 },
		func() bool { return pods.available(image) == total && pods.active() == total })
	if err != nil {
		return nil, err
	}
	if err := rolledOut(ctx, c, opts); err != nil {
		return nil, err
	}
	phase("create to available", total, took, half, pods.latency(image, start))
	if opts.ProfileDir != "" {
		// What the server holds with every pod available.
		if err := srv.HeapProfile(ctx, filepath.Join(opts.ProfileDir, "available.heap.pprof")); err != nil {
			progress("heap profile: %v", err)
		}
	}
	firstSets := pods.overfull(0)

	// Rolling update.
	progress("rolling update of %d deployments", opts.Deployments)
	pods.startUpdate()
	image = "nginx:2"
	start = time.Now()
	profile("update")
	patch := []byte(fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"c","image":%q}]}}}}`, image))
	if err := parallel(ctx, opts.Clients, names, func(ctx context.Context, name string) error {
		_, err := c.AppsV1().Deployments(ns).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
		return err
	}); err != nil {
		return nil, err
	}
	took, half, err = await("rolling update", start,
		func() bool { return pods.available(image) >= total/2 },
		func() bool { return pods.available(image) == total && pods.active() == total })
	if err != nil {
		return nil, err
	}
	if err := rolledOut(ctx, c, opts); err != nil {
		return nil, err
	}
	phase("rolling update", total, took, half, pods.latency(image, start))
	// Sets given more pods than their replicas say which controller
	// created too many.
	for name, n := range pods.overfull(opts.Replicas) {
		progress("set %s was given %d pods (%d of them on create)", name, n, firstSets[name])
	}
	res.MostPods, res.FewestAvailable = pods.bounds()
	if opts.ProfileDir != "" {
		if err := srv.HeapProfile(ctx, filepath.Join(opts.ProfileDir, "heap-after-update.pprof")); err != nil {
			progress("heap profile: %v", err)
		}
	}

	// Delete.
	progress("deleting %d deployments", opts.Deployments)
	start = time.Now()
	profile("delete")
	if err := parallel(ctx, opts.Clients, names, func(ctx context.Context, name string) error {
		return c.AppsV1().Deployments(ns).Delete(ctx, name, metav1.DeleteOptions{})
	}); err != nil {
		return nil, err
	}
	took, half, err = await("delete", start,
		func() bool { return pods.existing() <= total/2 },
		func() bool { return pods.existing() == 0 })
	if err != nil {
		return nil, err
	}
	sets, err := c.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	if len(sets.Items) > 0 {
		return nil, fmt.Errorf("delete: %d replica sets left", len(sets.Items))
	}
	phase("delete to no pod", total, took, half, Latency{})

	cpuAfter, _ := harness.CPUTime(srv.PID)
	res.ServerCPU = cpuAfter - cpuBefore
	res.ServerMem, _ = srv.Memory()
	res.LoadAfter = harness.LoadAvg()
	return res, nil
}

// rolledOut checks that every Deployment says so, as `kubectl rollout
// status` would read it.
func rolledOut(ctx context.Context, c kubernetes.Interface, opts Options) error {
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, opts.Timeout, true, func(ctx context.Context) (bool, error) {
		list, err := c.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		n := int32(opts.Replicas)
		for _, d := range list.Items {
			s := d.Status
			if s.ObservedGeneration < d.Generation || s.UpdatedReplicas != n || s.Replicas != n || s.AvailableReplicas != n {
				return false, nil
			}
		}
		return len(list.Items) == opts.Deployments, nil
	})
}

// parallel runs fn for every name from n clients; it returns the first
// error.
func parallel(ctx context.Context, n int, names []string, fn func(context.Context, string) error) error {
	ch := make(chan string)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range ch {
				if err := fn(ctx, name); err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("%s: %w", name, err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, name := range names {
		ch <- name
	}
	close(ch)
	wg.Wait()
	return first
}

func deployment(name string, replicas int32) *appsv1.Deployment {
	quarter := intstr.FromString("25%")
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &quarter, MaxUnavailable: &quarter}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx:1"}}},
			},
		},
	}
}
