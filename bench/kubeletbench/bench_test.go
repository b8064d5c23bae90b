package kubeletbench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/bench/harness"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/kubelet"
	"github.com/kemudi/kemudi/internal/kubelet/kubelettest"
)

const nodeName = "bench-node"

// BenchmarkKubelet prints one table of the figures, kemudi's kubelet on
// its runtime beside upstream's on containerd, in one run and one
// control plane; run it once (-benchtime 1x). KEMUDI_BENCH_ONLY=kemudi
// (or upstream) measures one.
func BenchmarkKubelet(b *testing.B) {
	pods, idleSeconds, settleSeconds := 30, 30, 15
	if err := harness.EnvInts(map[string]*int{"KEMUDI_BENCH_PODS": &pods, "KEMUDI_BENCH_IDLE_SECONDS": &idleSeconds, "KEMUDI_BENCH_SETTLE": &settleSeconds}); err != nil {
		b.Fatal(err)
	}
	// An interrupt ends the run through the clean-ups (processes,
	// mounts, cgroups, network namespaces), not by killing it.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	loadBefore := harness.LoadAvg()
	s := clustertest.Start(b)
	s.RunControlPlane()
	o := runOptions{pods: pods, idle: time.Duration(idleSeconds) * time.Second, settle: time.Duration(settleSeconds) * time.Second}
	var cols []*result
	for _, p := range peers(os.Getenv("KEMUDI_BENCH_ONLY")) {
		r := &result{title: p.title, pods: pods}
		b.Run(p.key, func(b *testing.B) {
			defer r.noteFailure(b)
			p.run(ctx, b, s, o, r)
		})
		cols = append(cols, r)
	}
	printTable(os.Stdout, loadBefore, harness.LoadAvg(), cols)
}

type runOptions struct {
	pods int
	idle time.Duration // how long idle CPU is measured with the pods running
	// settle is how long the processes are left alone before their
	// memory is read: kemudi's give back what a burst grew once quiet.
	settle time.Duration
}

// peer is one kubelet on one runtime.
type peer struct {
	key, title string
	run        func(ctx context.Context, b *testing.B, s *clustertest.Server, o runOptions, r *result)
}

func peers(only string) []peer {
	all := []peer{
		{"kemudi", "kemudi kubelet + runtime", func(ctx context.Context, b *testing.B, s *clustertest.Server, o runOptions, r *result) {
			rt := kubelettest.StartKemudi(b, clustertest.Binary(b))
			start := func() time.Time {
				t := time.Now()
				startKubelet(b, s, rt)
				return t
			}
			measure(ctx, b, s.Client, node{name: nodeName, prefix: "", rt: rt, start: start}, o, r)
			b.ReportMetric(float64(r.pct(99).Milliseconds()), "p99-ms")
		}},
		{"agent", "kemudi agent (kubelet + runtime)", func(ctx context.Context, b *testing.B, s *clustertest.Server, o runOptions, r *result) {
			n := kubelettest.NewKemudiAgentNode(b)
			start := func() time.Time { return startAgent(b, s, n) }
			measure(ctx, b, s.Client, node{name: agentNodeName, prefix: "a-", rt: n, start: start}, o, r)
		}},
		{"upstream", "upstream kubelet 1.37 + containerd", func(ctx context.Context, b *testing.B, s *clustertest.Server, o runOptions, r *result) {
			bin, err := harness.UpstreamKubeletBinary()
			if err != nil {
				r.err = err.Error()
				b.Skip(err)
			}
			rt := kubelettest.StartContainerd(b)
			start := func() time.Time { return startUpstreamKubelet(b, s, rt, bin) }
			measure(ctx, b, s.Client, node{name: upstreamNodeName, prefix: "u-", rt: rt, start: start}, o, r)
		}},
	}
	if only == "" {
		return all
	}
	for _, p := range all {
		if p.key == only {
			return []peer{p}
		}
	}
	return nil
}

// node is what measure needs of a peer: its Node's name, a prefix for
// its pods' names, its runtime and how to start its kubelet.
type node struct {
	name, prefix string
	rt           *kubelettest.Runtime
	start        func() time.Time // when the kubelet was started
}

// measure takes the same figures of every peer.
func measure(ctx context.Context, b *testing.B, c kubernetes.Interface, n node, o runOptions, r *result) {
	started := n.start()
	if err := waitNodeReady(ctx, c, n.name); err != nil {
		b.Fatal(err)
	}
	r.nodeReady = time.Since(started)

	// One pod first, so the image is present and the pause sandbox warm.
	image := n.rt.Images["busybox"]
	if _, err := createReady(ctx, c, n.name, image, n.prefix+"warm", 1); err != nil {
		b.Fatal(err)
	}
	// The runtime's processes (and the kubelet's, when it is one).
	procs := func() []int { return harness.ProcessesMentioning(n.rt.Dir) }
	settle(ctx, o.settle)
	r.idleMem = memByName(procs())
	r.idleBy = rssOf(r.idleMem)
	cpu0, self0 := snapCPU(procs()), harness.SelfCPUTime()
	lat, err := createReady(ctx, c, n.name, image, n.prefix+"p", o.pods)
	if err != nil {
		b.Fatal(err)
	}
	r.lat = lat
	r.startCPUBy, r.benchCPU = cpu0.since(snapCPU(procs())), harness.SelfCPUTime()-self0
	settle(ctx, o.settle)
	r.busyBy = rssOf(memByName(procs()))
	if o.idle > 0 {
		r.idleCPUBy, r.idleWindow = cpuOver(ctx, procs(), o.idle)
	}
	if ctx.Err() != nil {
		b.Fatal(ctx.Err())
	}
}

func startKubelet(b *testing.B, s *clustertest.Server, rt *kubelettest.Runtime) {
	o := kubelet.DefaultOptions()
	o.NodeName = nodeName
	o.RuntimeEndpoint = rt.Endpoint
	o.RootDir = filepath.Join(rt.Dir, "kubelet")
	o.PodLogDir = filepath.Join(rt.Dir, "pods")
	o.CgroupRoot = rt.CgroupRoot
	o.NodeIPs = []net.IP{rt.NodeIP}
	o.Dial = rt.Dial
	if err := diskFlags(&o); err != nil {
		b.Fatal(err)
	}
	// Warnings and errors only, shown if the run fails.
	logs := &logBuffer{}
	o.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	k, err := kubelet.New(s.Config, o)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- k.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			b.Logf("kemudi's kubelet: %v", err)
		}
		if b.Failed() {
			b.Logf("kemudi's kubelet's warnings (tail):\n%s", harness.LastBytes(logs.String(), 6000))
		}
	})
}

// diskFlags sets harness.NodeDiskFlags in o: this shared disk is often
// below the disk eviction thresholds, and a node under DiskPressure
// evicts the warm pod and admits none.
func diskFlags(o *kubelet.Options) error {
	f := harness.NodeDiskFlags()
	for i := 0; i+1 < len(f); i += 2 {
		var err error
		switch f[i] {
		case "--image-gc-high-threshold":
			o.ImageGCHighThresholdPercent, err = strconv.Atoi(f[i+1])
		case "--eviction-hard":
			o.EvictionHard, err = kubelet.ParseThresholds(f[i+1])
		default:
			err = fmt.Errorf("unknown flag %s", f[i])
		}
		if err != nil {
			return fmt.Errorf("node disk flags: %w", err)
		}
	}
	return nil
}

// logBuffer keeps a log's lines for a failed run to show.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func waitNodeReady(ctx context.Context, c kubernetes.Interface, nodeName string) error {
	return wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		n, err := c.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				return cond.Status == corev1.ConditionTrue, nil
			}
		}
		return false, nil
	})
}

// createReady creates n pods on node at once and returns each one's time
// from its Create call to a watch seeing it Ready.
func createReady(ctx context.Context, c kubernetes.Interface, node, image, prefix string, n int) ([]time.Duration, error) {
	sel := "bench=" + prefix
	w, err := c.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	created := make([]time.Time, n)
	errs := make(chan error, n)
	for i := range n {
		go func() {
			p := benchPod(fmt.Sprintf("%s-%d", prefix, i), prefix, node, image)
			created[i] = time.Now()
			_, err := c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			return nil, fmt.Errorf("create pod: %w", err)
		}
	}
	ready := map[string]time.Duration{}
	deadline := time.After(5 * time.Minute)
	for len(ready) < n {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				return nil, fmt.Errorf("watch ended with %d of %d Ready", len(ready), n)
			}
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || !isReady(p) {
				continue
			}
			if _, seen := ready[p.Name]; !seen {
				var i int
				if _, err := fmt.Sscanf(p.Name[len(prefix)+1:], "%d", &i); err != nil {
					return nil, err
				}
				ready[p.Name] = time.Since(created[i])
			}
		case <-deadline:
			return nil, fmt.Errorf("%d of %d Ready after 5 min", len(ready), n)
		case <-ctx.Done():
			return nil, fmt.Errorf("%d of %d Ready: %w", len(ready), n, ctx.Err())
		}
	}
	out := make([]time.Duration, 0, n)
	for _, d := range ready {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

func benchPod(name, group, node, image string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"bench": group}},
		Spec: corev1.PodSpec{
			NodeName:                      node, // bound, as the scheduler would
			TerminationGracePeriodSeconds: ptr.To[int64](1),
			Containers: []corev1.Container{{
				Name: "main", Image: image, ImagePullPolicy: corev1.PullIfNotPresent,
				Command: []string{"sleep", "3600"},
			}},
		},
	}
}

func isReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
