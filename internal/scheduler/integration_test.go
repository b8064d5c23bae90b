package scheduler_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/scheduler"
	"github.com/kemudi/kemudi/internal/simnode"
	"github.com/kemudi/kemudi/internal/simnode/simnodetest"
)

const timeout = 30 * time.Second

// cluster starts a server running the scheduler, and simulated nodes.
func cluster(t *testing.T, opts simnode.Options) (*clustertest.Server, *simnode.Nodes) {
	t.Helper()
	s := clustertest.Start(t)
	s.RunControlPlane("scheduler")
	return s, simnodetest.Start(t, s.Config, opts)
}

// runScheduler runs a scheduler of the test's own until stop is called
// or the test ends.
func runScheduler(t *testing.T, cfg *rest.Config, opts scheduler.Options) (stop func()) {
	t.Helper()
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := scheduler.Run(ctx, cfg, opts); err != nil {
			t.Errorf("scheduler: %v", err)
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
	t.Cleanup(stop)
	return stop
}

func pod(name string, mutate ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "main", Image: "busybox",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("100Mi"),
			}},
		}}},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

func labels(kv ...string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Labels = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			p.Labels[kv[i]] = kv[i+1]
		}
	}
}

func requests(cpu, memory string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory),
		}
	}
}

func schedulerName(name string) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Spec.SchedulerName = name }
}

func term(key, value, topology string) corev1.PodAffinityTerm {
	return corev1.PodAffinityTerm{
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{key: value}},
		TopologyKey:   topology,
	}
}

func create(t *testing.T, c kubernetes.Interface, pods ...*corev1.Pod) {
	t.Helper()
	for _, p := range pods {
		if _, err := c.CoreV1().Pods(p.Namespace).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create pod %s: %v", p.Name, err)
		}
	}
}

func getPod(t *testing.T, c kubernetes.Interface, name string) *corev1.Pod {
	t.Helper()
	p, err := c.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// waitBound waits for a pod to be bound and returns its node.
func waitBound(t *testing.T, c kubernetes.Interface, name string) string {
	t.Helper()
	var node string
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		p, err := c.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		node = p.Spec.NodeName
		return node != "", nil
	})
	if err != nil {
		t.Fatalf("pod %s not bound: %v", name, err)
	}
	return node
}

// waitEvent waits for an event about a pod with the reason and returns
// its message.
func waitEvent(t *testing.T, c kubernetes.Interface, pod, reason string) string {
	t.Helper()
	var msg string
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		evs, err := c.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + pod})
		if err != nil {
			return false, nil
		}
		for _, e := range evs.Items {
			if e.Reason == reason {
				msg = e.Message
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no %s event for %s: %v", reason, pod, err)
	}
	return msg
}

func events(t *testing.T, c kubernetes.Interface, pod string) []corev1.Event {
	t.Helper()
	evs, err := c.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.name=" + pod})
	if err != nil {
		t.Fatal(err)
	}
	return evs.Items
}

func condition(p *corev1.Pod, typ corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == typ {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

func TestSchedulesAndReports(t *testing.T) {
	s, nodes := cluster(t, simnode.Options{Count: 3})
	create(t, s.Client, pod("web"))
	node := waitBound(t, s.Client, "web")
	found := false
	for _, n := range nodes.Names() {
		found = found || n == node
	}
	if !found {
		t.Fatalf("bound to %q, not a node", node)
	}
	msg := waitEvent(t, s.Client, "web", "Scheduled")
	if want := fmt.Sprintf("Successfully assigned default/web to %s", node); msg != want {
		t.Errorf("Scheduled event %q, want %q", msg, want)
	}
	out := s.MustKubectl("get", "events", "-n", "default")
	if !strings.Contains(out, "Successfully assigned default/web to "+node) {
		t.Errorf("kubectl get events:\n%s", out)
	}
	if c := condition(getPod(t, s.Client, "web"), corev1.PodScheduled); c == nil || c.Status != corev1.ConditionTrue {
		t.Errorf("PodScheduled %v", c)
	}
	out = s.MustKubectl("get", "pods", "-o", "wide")
	if !strings.Contains(out, node) {
		t.Errorf("kubectl get pods -o wide:\n%s", out)
	}
}

// TestFailedSchedulingThenNodeAdded is the example: a pod that
// fits nowhere says why, and is scheduled as soon as a node that fits
// joins, without waiting for a periodic retry.
func TestFailedSchedulingThenNodeAdded(t *testing.T) {
	s, _ := cluster(t, simnode.Options{Count: 3, Customize: func(i int, n *corev1.Node) {
		if i == 0 {
			n.Status.Allocatable[corev1.ResourceMemory] = resource.MustParse("1Gi")
			return
		}
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule})
	}})
	create(t, s.Client, pod("big", requests("100m", "2Gi")))
	msg := waitEvent(t, s.Client, "big", "FailedScheduling")
	want := "0/3 nodes are available: 1 Insufficient memory, 2 node(s) had untolerated taint {dedicated: gpu}. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
	if msg != want {
		t.Errorf("FailedScheduling:\n%q, want\n%q", msg, want)
	}
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		c := condition(getPod(t, s.Client, "big"), corev1.PodScheduled)
		return c != nil && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable && c.Message == want, nil
	})
	if err != nil {
		t.Errorf("PodScheduled condition: %v", condition(getPod(t, s.Client, "big"), corev1.PodScheduled))
	}
	out := s.MustKubectl("describe", "pod", "big")
	if !strings.Contains(out, "FailedScheduling") || !strings.Contains(out, "0/3 nodes are available") {
		t.Errorf("kubectl describe pod big:\n%s", out)
	}

	simnodetest.Start(t, s.Config, simnode.Options{Count: 1, NamePrefix: "large-"})
	if node := waitBound(t, s.Client, "big"); node != "large-0000" {
		t.Errorf("bound to %s, want the new node large-0000", node)
	}
}

// TestSpreadAndAffinity: topology spread, anti-affinity and affinity as
// a user writes them.
func TestSpreadAndAffinity(t *testing.T) {
	s, _ := cluster(t, simnode.Options{Count: 4, Zones: 2})
	spread := func(p *corev1.Pod) {
		p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
			MaxSkew: 1, TopologyKey: corev1.LabelTopologyZone, WhenUnsatisfiable: corev1.DoNotSchedule,
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "spread"}},
		}}
	}
	solo := func(p *corev1.Pod) {
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{term("app", "solo", corev1.LabelHostname)},
		}}
	}
	for i := range 4 {
		create(t, s.Client, pod(fmt.Sprintf("spread-%d", i), labels("app", "spread"), spread))
	}
	for i := range 5 {
		create(t, s.Client, pod(fmt.Sprintf("solo-%d", i), labels("app", "solo"), solo))
	}
	zoneOf := map[string]string{}
	nodes, err := s.Client.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes.Items {
		zoneOf[n.Name] = n.Labels[corev1.LabelTopologyZone]
	}
	perZone := map[string]int{}
	for i := range 4 {
		perZone[zoneOf[waitBound(t, s.Client, fmt.Sprintf("spread-%d", i))]]++
	}
	if len(perZone) != 2 || perZone["zone-a"] != 2 || perZone["zone-b"] != 2 {
		t.Errorf("spread pods per zone %v, want 2 and 2", perZone)
	}

	// Five pods that refuse to share a node, four nodes: one waits.
	var pending string
	err = wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		used, waiting := map[string]bool{}, []string{}
		for i := range 5 {
			p := getPod(t, s.Client, fmt.Sprintf("solo-%d", i))
			if p.Spec.NodeName == "" {
				waiting = append(waiting, p.Name)
			} else if used[p.Spec.NodeName] {
				return false, fmt.Errorf("two solo pods on %s", p.Spec.NodeName)
			} else {
				used[p.Spec.NodeName] = true
			}
		}
		if len(used) == 4 && len(waiting) == 1 {
			pending = waiting[0]
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("anti-affinity: %v", err)
	}
	want := "0/4 nodes are available: 4 node(s) didn't match pod anti-affinity rules. preemption: 0/4 nodes are available: 4 No preemption victims found for incoming pod."
	if msg := waitEvent(t, s.Client, pending, "FailedScheduling"); msg != want {
		t.Errorf("FailedScheduling:\n%q, want\n%q", msg, want)
	}

	// Affinity: the cache goes where the db is.
	create(t, s.Client, pod("db", labels("role", "db")))
	dbNode := waitBound(t, s.Client, "db")
	create(t, s.Client, pod("cache", func(p *corev1.Pod) {
		p.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{term("role", "db", corev1.LabelHostname)},
		}}
	}))
	if node := waitBound(t, s.Client, "cache"); node != dbNode {
		t.Errorf("cache on %s, db on %s", node, dbNode)
	}
}

// TestPreemption: a high-priority pod that fits nowhere evicts a
// lower-priority pod, is nominated to its node and lands there.
func TestPreemption(t *testing.T) {
	s, _ := cluster(t, simnode.Options{Count: 2, Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}})
	ctx := context.Background()
	create(t, s.Client, pod("low-0", requests("800m", "100Mi")), pod("low-1", requests("800m", "100Mi")))
	waitBound(t, s.Client, "low-0")
	waitBound(t, s.Client, "low-1")
	if _, err := s.Client.SchedulingV1().PriorityClasses().Create(ctx, &schedulingv1.PriorityClass{
		ObjectMeta: metav1.ObjectMeta{Name: "high"}, Value: 1000,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	create(t, s.Client, pod("vip", requests("500m", "100Mi"), func(p *corev1.Pod) { p.Spec.PriorityClassName = "high" }))
	vip := getPod(t, s.Client, "vip")
	if vip.Spec.Priority == nil || *vip.Spec.Priority != 1000 {
		t.Fatalf("vip priority %v", vip.Spec.Priority)
	}
	msg := waitEvent(t, s.Client, "vip", "FailedScheduling")
	if !strings.HasPrefix(msg, "0/2 nodes are available: 2 Insufficient cpu. preemption: found a potential placement for pod on node ") ||
		!strings.HasSuffix(msg, ", preempting 1 victims") {
		t.Errorf("FailedScheduling %q", msg)
	}
	node := waitBound(t, s.Client, "vip")
	var victim string
	for _, name := range []string{"low-0", "low-1"} {
		p, err := s.Client.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil || p.DeletionTimestamp != nil {
			victim = name
		}
	}
	if victim == "" {
		t.Fatal("no pod was preempted")
	}
	pre := waitEvent(t, s.Client, victim, "Preempted")
	if want := fmt.Sprintf("Preempted by pod %s on node %s", vip.UID, node); pre != want {
		t.Errorf("Preempted event %q, want %q", pre, want)
	}
	if got := getPod(t, s.Client, "vip"); got.Status.NominatedNodeName != "" && got.Status.NominatedNodeName != node {
		t.Errorf("nominated to %s, bound to %s", got.Status.NominatedNodeName, node)
	}
}

// TestSchedulingGates: a gated pod waits, reported as SchedulingGated,
// and is scheduled once its gates are gone.
func TestSchedulingGates(t *testing.T) {
	s, _ := cluster(t, simnode.Options{Count: 1})
	create(t, s.Client, pod("gated", func(p *corev1.Pod) {
		p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/quota"}}
	}))
	// A pod created after it is bound: the scheduler has looked at the
	// gated one by then.
	create(t, s.Client, pod("canary"))
	waitBound(t, s.Client, "canary")
	p := getPod(t, s.Client, "gated")
	if c := condition(p, corev1.PodScheduled); p.Spec.NodeName != "" || c == nil || c.Reason != corev1.PodReasonSchedulingGated {
		t.Fatalf("gated pod: node %q, condition %v", p.Spec.NodeName, c)
	}
	for _, e := range events(t, s.Client, "gated") {
		if e.Reason == "FailedScheduling" {
			t.Errorf("gated pod got %s: %s", e.Reason, e.Message)
		}
	}
	if out := s.MustKubectl("get", "pod", "gated"); !strings.Contains(out, "SchedulingGated") {
		t.Errorf("kubectl get pod gated:\n%s", out)
	}
	p.Spec.SchedulingGates = nil
	if _, err := s.Client.CoreV1().Pods("default").Update(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitBound(t, s.Client, "gated")
}

// TestSchedulerNames: one scheduler can serve two names; pods naming
// another scheduler are left alone.
func TestSchedulerNames(t *testing.T) {
	s := clustertest.Start(t)
	simnodetest.Start(t, s.Config, simnode.Options{Count: 2})
	runScheduler(t, s.Config, scheduler.Options{SchedulerNames: []string{"alpha", "beta"}})
	create(t, s.Client, pod("a", schedulerName("alpha")), pod("b", schedulerName("beta")), pod("other", schedulerName("someone-else")))
	waitBound(t, s.Client, "a")
	waitBound(t, s.Client, "b")
	if msg := waitEvent(t, s.Client, "b", "Scheduled"); !strings.HasPrefix(msg, "Successfully assigned default/b to ") {
		t.Errorf("Scheduled %q", msg)
	}
	if ev := events(t, s.Client, "b"); len(ev) == 0 || ev[0].Source.Component != "beta" && ev[0].ReportingController != "beta" {
		t.Errorf("event for b not reported by beta: %+v", ev)
	}
	// Pods created after "other" are bound, "other" is still pending and
	// was not touched.
	create(t, s.Client, pod("c", schedulerName("alpha")))
	waitBound(t, s.Client, "c")
	p := getPod(t, s.Client, "other")
	if p.Spec.NodeName != "" || len(events(t, s.Client, "other")) != 0 {
		t.Errorf("pod for another scheduler: node %q, events %v", p.Spec.NodeName, events(t, s.Client, "other"))
	}
}

// watchBindings records every node each pod is seen bound to.
func watchBindings(t *testing.T, c kubernetes.Interface) (bindings func() map[string][]string) {
	t.Helper()
	w, err := c.CoreV1().Pods("default").Watch(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string][]string{}
	go func() {
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || ev.Type == watch.Deleted || p.Spec.NodeName == "" {
				continue
			}
			mu.Lock()
			if n := seen[p.Name]; len(n) == 0 || n[len(n)-1] != p.Spec.NodeName {
				seen[p.Name] = append(n, p.Spec.NodeName)
			}
			mu.Unlock()
		}
	}()
	t.Cleanup(w.Stop)
	return func() map[string][]string {
		mu.Lock()
		defer mu.Unlock()
		out := map[string][]string{}
		for k, v := range seen {
			out[k] = append([]string(nil), v...)
		}
		return out
	}
}

// TestRestartAndRace: pods created while no scheduler runs are
// scheduled when one starts; and two schedulers racing for the same
// pods (no leader election) bind each pod exactly once: the API refuses
// the second binding.
func TestRestartAndRace(t *testing.T) {
	s := clustertest.Start(t)
	simnodetest.Start(t, s.Config, simnode.Options{Count: 5})
	bindings := watchBindings(t, s.Client)
	opts := scheduler.Options{LeaderElect: false}

	stop := runScheduler(t, s.Config, opts)
	for i := range 10 {
		create(t, s.Client, pod(fmt.Sprintf("first-%d", i)))
	}
	waitBound(t, s.Client, "first-9")
	stop()
	for i := range 10 {
		create(t, s.Client, pod(fmt.Sprintf("while-down-%d", i)))
	}
	runScheduler(t, s.Config, opts)
	runScheduler(t, s.Config, opts)
	for i := range 40 {
		create(t, s.Client, pod(fmt.Sprintf("race-%d", i)))
	}
	var all []string
	for i := range 10 {
		all = append(all, fmt.Sprintf("first-%d", i), fmt.Sprintf("while-down-%d", i))
	}
	for i := range 40 {
		all = append(all, fmt.Sprintf("race-%d", i))
	}
	for _, name := range all {
		waitBound(t, s.Client, name)
	}
	b := bindings()
	for _, name := range all {
		if len(b[name]) != 1 {
			t.Errorf("%s bound to %v", name, b[name])
		}
	}
	// Losing a race is not a scheduling failure.
	for _, name := range all {
		for _, e := range events(t, s.Client, name) {
			if e.Reason == "FailedScheduling" {
				t.Errorf("%s: %s %s", name, e.Reason, e.Message)
			}
		}
	}
}

// TestLeaderElection: of two schedulers only the Lease holder schedules;
// when it stops, the other takes over.
func TestLeaderElection(t *testing.T) {
	s := clustertest.Start(t)
	simnodetest.Start(t, s.Config, simnode.Options{Count: 2})
	ctx := context.Background()
	opts := func(id string) scheduler.Options {
		return scheduler.Options{LeaderElect: true, Identity: id,
			LeaseDuration: 2 * time.Second, RenewDeadline: 1500 * time.Millisecond, RetryPeriod: 200 * time.Millisecond}
	}
	stopA := runScheduler(t, s.Config, opts("a"))
	holder := func() string {
		l, err := s.Client.CoordinationV1().Leases("kube-system").Get(ctx, "kube-scheduler", metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return ""
		}
		return *l.Spec.HolderIdentity
	}
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		return holder() == "a", nil
	}); err != nil {
		t.Fatalf("lease held by %q", holder())
	}
	runScheduler(t, s.Config, opts("b"))
	create(t, s.Client, pod("first"))
	waitBound(t, s.Client, "first")
	if h := holder(); h != "a" {
		t.Errorf("lease moved to %q while a ran", h)
	}
	stopA()
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		return holder() == "b", nil
	}); err != nil {
		t.Fatalf("lease held by %q after a stopped", holder())
	}
	create(t, s.Client, pod("second"))
	waitBound(t, s.Client, "second")
}

// TestBadInput: pods the API accepts but no node can take stay pending
// with a FailedScheduling event that says why, and a node registered
// without any status (no allocatable at all) takes nothing (its reasons,
// from the resource filter that runs first, are in every message); the
// scheduler carries on with the pods it can place.
func TestBadInput(t *testing.T) {
	s, _ := cluster(t, simnode.Options{Count: 2})
	if _, err := s.Client.CoreV1().Nodes().Create(context.Background(), &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "empty", Labels: map[string]string{corev1.LabelHostname: "empty"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		pod  *corev1.Pod
		want string
	}{
		{
			pod("selector", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"no-such": "label"} }),
			"0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
		},
		{
			pod("spread", func(p *corev1.Pod) {
				p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
					MaxSkew: 1, TopologyKey: "no-such-key", WhenUnsatisfiable: corev1.DoNotSchedule,
					LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "spread"}},
				}}
			}),
			"0/3 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 1 Too many pods, 2 node(s) didn't match pod topology spread constraints (missing required label). preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
		},
		{
			pod("lonely", func(p *corev1.Pod) {
				p.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{
					RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{term("app", "nobody", corev1.LabelHostname)},
				}}
			}),
			"0/3 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 1 Too many pods, 2 node(s) didn't match pod affinity rules. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
		},
		{
			pod("huge", requests("100000", "100Mi")),
			"0/3 nodes are available: 1 Insufficient memory, 1 Too many pods, 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
		},
	}
	for _, tt := range tests {
		create(t, s.Client, tt.pod)
	}
	for _, tt := range tests {
		if msg := waitEvent(t, s.Client, tt.pod.Name, "FailedScheduling"); msg != tt.want {
			t.Errorf("%s: FailedScheduling\n%q, want\n%q", tt.pod.Name, msg, tt.want)
		}
	}
	create(t, s.Client, pod("fine"))
	if node := waitBound(t, s.Client, "fine"); node == "empty" {
		t.Error("bound to the node without capacity")
	}
}
