package workloadbench

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/kemudi/kemudi/bench/harness"
	"github.com/kemudi/kemudi/internal/simnode"
)

// Options configure a run.
type Options struct {
	// Nodes (default 500) run the DaemonSet; Replicas (default 200) is
	// the StatefulSet's size; Completions (default 2,000) and Parallelism
	// (default 200) shape the Job.
	Nodes, Replicas, Completions, Parallelism int
	// Timeout bounds each phase (default 5 min).
	Timeout time.Duration
	Server  harness.Options
	// Progress receives a line per phase.
	Progress io.Writer
}

func (o *Options) defaults() {
	if o.Nodes <= 0 {
		o.Nodes = 500
	}
	if o.Replicas <= 0 {
		o.Replicas = 200
	}
	if o.Completions <= 0 {
		o.Completions = 2000
	}
	if o.Parallelism <= 0 {
		o.Parallelism = 200
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
}

// Phase is one timed step.
type Phase struct {
	Name string
	// Pods is how many pods the step had to bring up; Created how many
	// the controllers created (must equal Pods).
	Pods, Created int
	Took          time.Duration
}

// Result is what a run measured.
type Result struct {
	Nodes                 int
	Phases                []Phase
	ServerCPU             time.Duration
	ServerMem             harness.Memory
	LoadBefore, LoadAfter string
}

const ns = "bench"

// Run starts the server and the nodes, runs the phases and stops
// everything.
func Run(ctx context.Context, opts Options) (*Result, error) {
	opts.defaults()
	progress := func(format string, args ...any) {
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, "workloadbench: "+format+"\n", args...)
		}
	}
	res := &Result{Nodes: opts.Nodes, LoadBefore: harness.LoadAvg()}
	cluster, err := harness.StartCluster(ctx, opts.Server, opts.Nodes, ns, progress)
	if err != nil {
		return nil, err
	}
	defer cluster.Close()
	// The watch ends before the nodes and the server.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv, c := cluster.Server, cluster.Client
	counter, err := countCreations(ctx, c)
	if err != nil {
		return nil, err
	}
	cpuBefore, _ := harness.CPUTime(srv.PID)
	poll := func(what string, done func(context.Context) (bool, error)) error {
		if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, opts.Timeout, false, done); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
	phase := func(name, app string, pods int, took time.Duration) {
		p := Phase{Name: name, Pods: pods, Created: counter.take(app), Took: took}
		res.Phases = append(res.Phases, p)
		progress("%s: %d pods in %s (%d created)", name, pods, took.Round(time.Millisecond), p.Created)
	}

	// DaemonSet.
	progress("daemonset over %d nodes", opts.Nodes)
	start := time.Now()
	if _, err := c.AppsV1().DaemonSets(ns).Create(ctx, daemonSet(), metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	dsDone := func(ctx context.Context) (bool, error) {
		ds, err := c.AppsV1().DaemonSets(ns).Get(ctx, "agent", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		s := ds.Status
		return s.ObservedGeneration >= ds.Generation && s.DesiredNumberScheduled == int32(opts.Nodes) &&
			s.UpdatedNumberScheduled == s.DesiredNumberScheduled && s.NumberAvailable == s.DesiredNumberScheduled, nil
	}
	if err := poll("daemonset create", dsDone); err != nil {
		return nil, err
	}
	phase("daemonset create", "agent", opts.Nodes, time.Since(start))
	start = time.Now()
	if err := setImage(ctx, c, "daemonsets", "agent", "busybox:2"); err != nil {
		return nil, err
	}
	if err := poll("daemonset update", dsDone); err != nil {
		return nil, err
	}
	phase("daemonset rolling update", "agent", opts.Nodes, time.Since(start))

	// StatefulSet.
	progress("statefulset of %d pods", opts.Replicas)
	start = time.Now()
	if _, err := c.AppsV1().StatefulSets(ns).Create(ctx, statefulSet(int32(opts.Replicas)), metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	stsDone := func(ctx context.Context) (bool, error) {
		s, err := c.AppsV1().StatefulSets(ns).Get(ctx, "db", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		st := s.Status
		n := int32(opts.Replicas)
		return st.ObservedGeneration >= s.Generation && st.ReadyReplicas == n && st.UpdatedReplicas == n && st.CurrentRevision == st.UpdateRevision, nil
	}
	if err := poll("statefulset create", stsDone); err != nil {
		return nil, err
	}
	phase("statefulset create", "db", opts.Replicas, time.Since(start))
	start = time.Now()
	if err := setImage(ctx, c, "statefulsets", "db", "busybox:2"); err != nil {
		return nil, err
	}
	if err := poll("statefulset update", stsDone); err != nil {
		return nil, err
	}
	phase("statefulset rolling update", "db", opts.Replicas, time.Since(start))

	// Job.
	progress("job of %d completions, parallelism %d", opts.Completions, opts.Parallelism)
	start = time.Now()
	if _, err := c.BatchV1().Jobs(ns).Create(ctx, job(int32(opts.Completions), int32(opts.Parallelism)), metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	if err := poll("job", func(ctx context.Context) (bool, error) {
		j, err := c.BatchV1().Jobs(ns).Get(ctx, "batch", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cond := range j.Status.Conditions {
			if cond.Type == batchv1.JobFailed && cond.Status == corev1.ConditionTrue {
				return false, fmt.Errorf("job failed: %s", cond.Message)
			}
			if cond.Type == batchv1.JobComplete && cond.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	}); err != nil {
		return nil, err
	}
	phase("job to complete", "batch", opts.Completions, time.Since(start))

	cpuAfter, _ := harness.CPUTime(srv.PID)
	res.ServerCPU = cpuAfter - cpuBefore
	res.ServerMem, _ = srv.Memory()
	res.LoadAfter = harness.LoadAvg()
	return res, nil
}

// creations counts pod creations per app label, from a watch.
type creations struct {
	mu    sync.Mutex
	count map[string]int
}

func countCreations(ctx context.Context, c kubernetes.Interface) (*creations, error) {
	w, err := c.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	cr := &creations{count: map[string]int{}}
	go func() {
		defer w.Stop()
		for ev := range w.ResultChan() {
			if p, ok := ev.Object.(*corev1.Pod); ok && ev.Type == watch.Added {
				cr.mu.Lock()
				cr.count[p.Labels["app"]]++
				cr.mu.Unlock()
			}
		}
	}()
	return cr, nil
}

// take returns the creations of app since the last take.
func (cr *creations) take(app string) int {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	n := cr.count[app]
	cr.count[app] = 0
	return n
}

func setImage(ctx context.Context, c kubernetes.Interface, resource, name, image string) error {
	patch := []byte(fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"c","image":%q}]}}}}`, image))
	req := c.AppsV1().RESTClient().Patch("application/strategic-merge-patch+json").Namespace(ns).Resource(resource).Name(name).Body(patch)
	return req.Do(ctx).Error()
}

func template(app string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox:1"}}},
	}
}

func daemonSet() *appsv1.DaemonSet {
	twenty := intstr.FromString("20%")
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent"},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}},
			Template: template("agent"),
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &twenty}},
		},
	}
}

func statefulSet(replicas int32) *appsv1.StatefulSet {
	twenty := intstr.FromString("20%")
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: appsv1.StatefulSetSpec{
			Replicas: &replicas, ServiceName: "db", PodManagementPolicy: appsv1.ParallelPodManagement,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			Template: template("db"),
			UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{MaxUnavailable: &twenty}},
		},
	}
}

func job(completions, parallelism int32) *batchv1.Job {
	t := template("batch")
	t.Spec.RestartPolicy = corev1.RestartPolicyNever
	t.Annotations = map[string]string{simnode.AnnotationCompleteAfter: "0s"}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "batch"},
		Spec:       batchv1.JobSpec{Completions: &completions, Parallelism: &parallelism, Template: t},
	}
}
