package kubeletbench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
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

// BenchmarkKubelet prints one table of the figures; run it once
// (-benchtime 1x).
func BenchmarkKubelet(b *testing.B) {
	pods := 30
	if err := harness.EnvInts(map[string]*int{"KEMUDI_BENCH_PODS": &pods}); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	loadBefore := harness.LoadAvg()
	rt := kubelettest.StartKemudi(b, clustertest.Binary(b))
	s := clustertest.Start(b)
	s.RunControlPlane()
	c := s.Client

	started := time.Now()
	startKubelet(b, s, rt)
	if err := waitNodeReady(ctx, c); err != nil {
		b.Fatal(err)
	}
	nodeReady := time.Since(started)

	// One pod first, so the image is present and the pause sandbox warm.
	if _, err := createReady(ctx, c, rt.Images["busybox"], "warm", 1); err != nil {
		b.Fatal(err)
	}
	procs := func() []int { return harness.ProcessesMentioning(rt.Dir) }
	settle(3 * time.Second)
	idleBy := rssByName(procs())
	idle := rss(procs())
	lat, err := createReady(ctx, c, rt.Images["busybox"], "p", pods)
	if err != nil {
		b.Fatal(err)
	}
	settle(3 * time.Second)
	busy := rss(procs())
	r := result{idleBy: idleBy, pods: pods, nodeReady: nodeReady, lat: lat, idle: idle, busy: busy}
	r.print(os.Stdout, loadBefore, harness.LoadAvg())
	b.ReportMetric(float64(r.pct(99).Milliseconds()), "p99-ms")
}

// settle lets the processes go idle before their memory is read.
func settle(d time.Duration) { <-time.After(d) }

func startKubelet(b *testing.B, s *clustertest.Server, rt *kubelettest.Runtime) {
	o := kubelet.DefaultOptions()
	o.NodeName = nodeName
	o.RuntimeEndpoint = rt.Endpoint
	o.RootDir = filepath.Join(rt.Dir, "kubelet")
	o.PodLogDir = filepath.Join(rt.Dir, "pods")
	o.CgroupRoot = rt.CgroupRoot
	o.NodeIPs = []net.IP{rt.NodeIP}
	o.Dial = rt.Dial
	o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	k, err := kubelet.New(s.Config, o)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- k.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		<-done
	})
}

func waitNodeReady(ctx context.Context, c kubernetes.Interface) error {
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

// createReady creates n pods at once and returns each one's time from
// its Create call to a watch seeing it Ready.
func createReady(ctx context.Context, c kubernetes.Interface, image, prefix string, n int) ([]time.Duration, error) {
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
			p := benchPod(fmt.Sprintf("%s-%d", prefix, i), prefix, image)
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
		}
	}
	out := make([]time.Duration, 0, n)
	for _, d := range ready {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

func benchPod(name, group, image string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"bench": group}},
		Spec: corev1.PodSpec{
			NodeName:                      nodeName, // bound, as the scheduler would
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

// rss sums the resident memory of pids.
func rss(pids []int) uint64 {
	var total uint64
	for _, v := range rssByName(pids) {
		total += v
	}
	return total
}

// rssByName sums the resident memory of pids by command name, to show
// which process holds it.
func rssByName(pids []int) map[string]uint64 {
	out := map[string]uint64{}
	for _, pid := range pids {
		m, err := harness.ReadMemory(pid)
		if err != nil {
			continue
		}
		out[procName(pid)] += m.RSS
	}
	return out
}

// procName is a process's program and first argument ("kemudi runtime").
func procName(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	name := filepath.Base(args[0])
	if len(args) > 1 && !strings.HasPrefix(args[1], "-") && !strings.Contains(args[1], "/") {
		name += " " + args[1]
	}
	return name
}

type result struct {
	pods       int
	nodeReady  time.Duration
	lat        []time.Duration
	idle, busy uint64
	idleBy     map[string]uint64
}

func (r result) pct(p int) time.Duration {
	i := (len(r.lat)*p + 99) / 100
	return r.lat[max(0, min(len(r.lat)-1, i-1))]
}

func (r result) print(w io.Writer, loadBefore, loadAfter string) {
	fmt.Fprintf(w, "kubelet on kemudi runtime (noisy: shared machine)\nload before: %s\nload after:  %s\n", loadBefore, loadAfter)
	fmt.Fprintf(w, "%-44s %s\n", "figure", "value")
	fmt.Fprintf(w, "%-44s %v\n", "node Ready after kubelet start", r.nodeReady.Round(time.Millisecond))
	fmt.Fprintf(w, "%-44s %v\n", fmt.Sprintf("%d pods at once: create→Ready p50", r.pods), r.pct(50).Round(time.Millisecond))
	fmt.Fprintf(w, "%-44s %v\n", fmt.Sprintf("%d pods at once: create→Ready p99", r.pods), r.pct(99).Round(time.Millisecond))
	fmt.Fprintf(w, "%-44s %.1f MiB\n", "runtime RSS, 1 pod (idle)", harness.MiB(r.idle))
	fmt.Fprintf(w, "%-44s %.1f MiB\n", fmt.Sprintf("runtime RSS, %d pods", r.pods+1), harness.MiB(r.busy))
	for name, v := range r.idleBy {
		fmt.Fprintf(w, "%-44s %.1f MiB\n", "  of which "+name, harness.MiB(v))
	}
	per := (float64(r.busy) - float64(r.idle)) / float64(r.pods)
	fmt.Fprintf(w, "%-44s %.2f MiB\n", "runtime RSS per extra pod", per/(1<<20))
}
