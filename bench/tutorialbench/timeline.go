package tutorialbench

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kemudi/kemudi/bench/harness"
)

// Timeline is when each step of one `kubectl create deployment` → first
// answer was seen, as offsets from the moment kubectl was started. Steps
// are seen by watching the pod and its service's EndpointSlices from the
// benchmark (a watch event arrives a few ms after the write), and from the
// server's log ("sandbox ready", "image pulled"); the pull's own duration
// is the kubelet's Pulled event's.
type Timeline struct {
	Kubectl     time.Duration // kubectl create returned
	PodCreated  time.Duration // the ReplicaSet's pod exists
	Scheduled   time.Duration // spec.nodeName set
	KubeletSeen time.Duration // the kubelet wrote the pod's status (Pending, ContainerCreating)
	Sandbox     time.Duration // the runtime logged "sandbox ready"
	Pulled      time.Duration // the runtime logged "image pulled" (cold rounds)
	Pull        time.Duration // the Pulled event's "in <duration>"
	Running     time.Duration // the container's state is running
	Endpoint    time.Duration // a ready endpoint of the pod in the service's EndpointSlice
	Answered    time.Duration // the first 200 through the load balancer
	// ServerCPU is the user+system CPU time `kemudi server` (the API
	// server, controllers, kubelet and the runtime that pulls and
	// unpacks, all in one process) used from kubectl's start to the
	// first 200; the app's own start-up is not in it.
	ServerCPU time.Duration
	// ServerWait is how long the server's threads were runnable but
	// waiting for a CPU over the same span (their schedstat run delay,
	// summed over threads, so it may exceed the span): what the
	// machine's other load added.
	ServerWait time.Duration
}

// timelineWatch watches one round; stop it with Stop after the answer.
type timelineWatch struct {
	start  time.Time
	cpu0   time.Duration            // the server's CPU time at start
	wait0  map[string]time.Duration // the server's threads' run-queue waits at start
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	t      Timeline
	cs     *kubernetes.Clientset
}

// watchTimeline starts watching the pods of app=python-flask and the
// service's EndpointSlices; start is when kubectl create started.
func (n *Node) watchTimeline(ctx context.Context, start time.Time) (*timelineWatch, error) {
	cs, err := n.clientset()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &timelineWatch{start: start, cpu0: n.serverCPU(), wait0: runDelays(n.proc.PID), cancel: cancel, done: make(chan struct{}), cs: cs}
	pods, err := cs.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{LabelSelector: "app=python-flask"})
	if err != nil {
		cancel()
		return nil, err
	}
	slices, err := cs.DiscoveryV1().EndpointSlices("default").Watch(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=python-flask"})
	if err != nil {
		pods.Stop()
		cancel()
		return nil, err
	}
	go func() {
		defer close(w.done)
		defer pods.Stop()
		defer slices.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-pods.ResultChan():
				if !ok {
					return
				}
				w.pod(ev)
			case ev, ok := <-slices.ResultChan():
				if !ok {
					return
				}
				w.slice(ev)
			}
		}
	}()
	return w, nil
}

// mark sets *d to now once (the first time a step is seen).
func (w *timelineWatch) mark(d *time.Duration) {
	if *d == 0 {
		*d = time.Since(w.start)
	}
}

func (w *timelineWatch) pod(ev watch.Event) {
	p, ok := ev.Object.(*corev1.Pod)
	if !ok || ev.Type == watch.Deleted || p.DeletionTimestamp != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.mark(&w.t.PodCreated)
	if p.Spec.NodeName != "" {
		w.mark(&w.t.Scheduled)
	}
	if len(p.Status.ContainerStatuses) > 0 || p.Status.HostIP != "" {
		w.mark(&w.t.KubeletSeen)
	}
	for _, c := range p.Status.ContainerStatuses {
		if c.State.Running != nil {
			w.mark(&w.t.Running)
		}
	}
}

func (w *timelineWatch) slice(ev watch.Event) {
	s, ok := ev.Object.(*discoveryv1.EndpointSlice)
	if !ok || ev.Type == watch.Deleted {
		return
	}
	for _, e := range s.Endpoints {
		if len(e.Addresses) > 0 && (e.Conditions.Ready == nil || *e.Conditions.Ready) && e.TargetRef != nil {
			w.mu.Lock()
			w.mark(&w.t.Endpoint)
			w.mu.Unlock()
		}
	}
}

// Stop ends the watch after the first answer (kubectl returned at
// kubectlDone) and fills in what the server's log and events say.
func (w *timelineWatch) Stop(ctx context.Context, n *Node, kubectlDone, answered time.Duration) Timeline {
	cpu, wait := n.serverCPU()-w.cpu0, waitSince(w.wait0, runDelays(n.proc.PID))
	w.cancel()
	<-w.done
	w.mu.Lock()
	t := w.t
	w.mu.Unlock()
	t.Kubectl, t.Answered, t.ServerCPU, t.ServerWait = kubectlDone, answered, cpu, wait
	t.Sandbox = n.logOffset("sandbox ready", w.start)
	t.Pulled = n.logOffset("image pulled", w.start)
	t.Pull = w.pullDuration(ctx)
	return t
}

var pulledIn = regexp.MustCompile(`Successfully pulled image "[^"]*" in ([0-9.]+[a-zµ]+) `)

// pullDuration is the latest Pulled event's duration of a pod of the app.
func (w *timelineWatch) pullDuration(ctx context.Context) time.Duration {
	evs, err := w.cs.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "reason=Pulled"})
	if err != nil {
		return 0
	}
	var latest time.Time
	var d time.Duration
	for _, e := range evs.Items {
		m := pulledIn.FindStringSubmatch(e.Message)
		ts := e.LastTimestamp.Time
		if m == nil || ts.Before(w.start.Truncate(time.Second)) || ts.Before(latest) {
			continue
		}
		if v, err := time.ParseDuration(m[1]); err == nil {
			latest, d = ts, v
		}
	}
	return d
}

// serverCPU is the CPU time `kemudi server` has used so far (0 if
// unreadable).
func (n *Node) serverCPU() time.Duration {
	d, _ := harness.CPUTime(n.proc.PID)
	return d
}

// runDelays are the times pid's threads have spent runnable on a run
// queue without a CPU, by thread ID (/proc/PID/task/*/schedstat's second
// field).
func runDelays(pid int) map[string]time.Duration {
	stats, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	out := make(map[string]time.Duration, len(stats))
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) >= 2 {
			if ns, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				out[filepath.Base(filepath.Dir(p))] = time.Duration(ns)
			}
		}
	}
	return out
}

// waitSince is the run-queue wait, summed, of the threads that were in
// both before and now (a thread that ended in between is left out: Go
// ends a thread a goroutine locked and left, as entering a network
// namespace does).
func waitSince(before, now map[string]time.Duration) time.Duration {
	var sum time.Duration
	for tid, d := range now {
		if d0, ok := before[tid]; ok {
			sum += d - d0
		}
	}
	return sum
}

// logOffset is when, after start, the server first logged msg (0 if not).
func (n *Node) logOffset(msg string, start time.Time) time.Duration {
	f, err := os.Open(n.logFile())
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, `msg="`+msg+`"`) {
			continue
		}
		i := strings.Index(line, "time=")
		if i < 0 {
			continue
		}
		ts, _, _ := strings.Cut(line[i+len("time="):], " ")
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err == nil && !t.Before(start) {
			return t.Sub(start)
		}
	}
	return 0
}

// clientset is a client of the node's API server, dialing into its
// namespace.
func (n *Node) clientset() (*kubernetes.Clientset, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", n.Kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) { return dialIn(n.NetnsPath, addr) }
	cfg.QPS, cfg.Burst = 100, 100
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return cs, nil
}
