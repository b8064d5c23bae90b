package simnode_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller/manager"
	"github.com/kemudi/kemudi/internal/controller/nodeipam"
	"github.com/kemudi/kemudi/internal/simnode"
	"github.com/kemudi/kemudi/internal/simnode/simnodetest"
)

const timeout = 30 * time.Second

// until polls cond every 50 ms until it holds or the deadline passes.
func until(t *testing.T, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last error
	err := wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		ok, err := cond(ctx)
		if err != nil {
			last = err
			return false, nil
		}
		return ok, nil
	})
	if err != nil {
		t.Fatalf("%s: not after %s (last error: %v)", what, timeout, last)
	}
}

func fields(out string) map[string][]string {
	res := map[string][]string{}
	for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 {
			if i == 0 {
				res["HEADER"] = f
			} else {
				res[f[0]] = f
			}
		}
	}
	return res
}

func TestNodes(t *testing.T) {
	s := clustertest.Start(t)
	nodes := simnodetest.Start(t, s.Config, simnode.Options{
		Count:         4,
		Zones:         2,
		Labels:        map[string]string{"pool": "sim"},
		RenewInterval: 300 * time.Millisecond,
		Capacity:      corev1.ResourceList{"example.com/gpu": resource.MustParse("2")},
		Images:        []corev1.ContainerImage{{Names: []string{"registry.example/app:v1"}, SizeBytes: 100 << 20}},
		Customize: func(i int, n *corev1.Node) {
			if i == 3 {
				n.Status.Capacity[corev1.ResourceCPU] = resource.MustParse("1")
				n.Status.Allocatable[corev1.ResourceCPU] = resource.MustParse("1")
				n.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "small", Effect: corev1.TaintEffectNoSchedule}}
			}
		},
	})
	c := s.Client
	names := nodes.Names()
	if want := []string{"node-0000", "node-0001", "node-0002", "node-0003"}; strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("names %v, want %v", names, want)
	}

	t.Run("kubectl get nodes", func(t *testing.T) {
		out := s.MustKubectl("get", "nodes", "-o", "wide")
		rows := fields(out)
		if h := strings.Join(rows["HEADER"], " "); h != "NAME STATUS ROLES AGE VERSION INTERNAL-IP EXTERNAL-IP OS-IMAGE KERNEL-VERSION CONTAINER-RUNTIME" {
			t.Fatalf("header %q", h)
		}
		for i, name := range names {
			r := rows[name]
			if len(r) < 6 || r[1] != "Ready" || r[2] != "<none>" || r[4] != simnode.KubeletVersion || r[5] != fmt.Sprintf("10.240.0.%d", i+1) {
				t.Errorf("row of %s: %v\n%s", name, r, out)
			}
		}
		n, err := c.CoreV1().Nodes().Get(context.Background(), "node-0001", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := n.Labels; got[corev1.LabelHostname] != "node-0001" || got[corev1.LabelTopologyZone] != "zone-b" || got["pool"] != "sim" {
			t.Errorf("labels %v", got)
		}
		if q := n.Status.Allocatable["example.com/gpu"]; q.Value() != 2 {
			t.Errorf("allocatable %v", n.Status.Allocatable)
		}
		if len(n.Status.Images) != 1 || n.Status.NodeInfo.KubeletVersion != simnode.KubeletVersion {
			t.Errorf("status %+v", n.Status)
		}
		small, err := c.CoreV1().Nodes().Get(context.Background(), "node-0003", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if q := small.Status.Capacity[corev1.ResourceCPU]; q.String() != "1" || len(small.Spec.Taints) != 1 {
			t.Errorf("customized node: capacity %v taints %v", small.Status.Capacity, small.Spec.Taints)
		}
	})

	t.Run("leases renew", func(t *testing.T) {
		first := renewTime(t, c, "node-0000")
		until(t, "lease of node-0000 renewed", func(ctx context.Context) (bool, error) {
			return renewTime(t, c, "node-0000").After(first), nil
		})
		l, err := c.CoordinationV1().Leases(simnode.LeaseNamespace).Get(context.Background(), "node-0000", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if *l.Spec.HolderIdentity != "node-0000" || *l.Spec.LeaseDurationSeconds != 40 || len(l.OwnerReferences) != 1 || l.OwnerReferences[0].Kind != "Node" {
			t.Errorf("lease %+v", l)
		}
	})

	t.Run("pod runs", func(t *testing.T) {
		ctx := context.Background()
		pod := newPod("web")
		if _, err := c.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		err := c.CoreV1().Pods("default").Bind(ctx, &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Name: "web"},
			Target:     corev1.ObjectReference{Kind: "Node", Name: "node-0002"},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var got *corev1.Pod
		until(t, "pod web running and ready", func(ctx context.Context) (bool, error) {
			p, err := c.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{})
			got = p
			return err == nil && p.Status.Phase == corev1.PodRunning && isReady(p), err
		})
		st := got.Status
		if st.PodIP == "" || st.HostIP != "10.240.0.3" || st.StartTime == nil || len(st.ContainerStatuses) != 1 ||
			st.ContainerStatuses[0].State.Running == nil || !st.ContainerStatuses[0].Ready || st.ContainerStatuses[0].Image != "nginx" {
			t.Fatalf("status %+v", st)
		}
		if len(st.InitContainerStatuses) != 1 || st.InitContainerStatuses[0].State.Terminated == nil || st.InitContainerStatuses[0].State.Terminated.Reason != "Completed" {
			t.Errorf("init container statuses %+v", st.InitContainerStatuses)
		}
		for _, ct := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReadyToStartContainers} {
			if !hasCondition(got, ct) {
				t.Errorf("no %s condition: %+v", ct, st.Conditions)
			}
		}
		// Nothing more to say about a running pod: no more writes.
		otherRenews(t, c, 3)
		if p, err := c.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{}); err != nil || p.ResourceVersion != got.ResourceVersion {
			t.Errorf("running pod written again: %v", err)
		}
		out := s.MustKubectl("get", "pods", "-o", "wide")
		r := fields(out)["web"]
		if len(r) < 7 || r[1] != "1/1" || r[2] != "Running" || r[5] != st.PodIP || r[6] != "node-0002" {
			t.Errorf("kubectl get pods -o wide:\n%s", out)
		}

		if err := c.CoreV1().Pods("default").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		until(t, "pod web gone", func(ctx context.Context) (bool, error) {
			_, err := c.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
	})

	t.Run("pod completes", func(t *testing.T) {
		ctx := context.Background()
		pod := newPod("job")
		pod.Spec.NodeName = "node-0000"
		pod.Spec.RestartPolicy = corev1.RestartPolicyNever
		pod.Annotations = map[string]string{simnode.AnnotationCompleteAfter: "200ms"}
		if _, err := c.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		var got *corev1.Pod
		until(t, "pod job succeeded", func(ctx context.Context) (bool, error) {
			p, err := c.CoreV1().Pods("default").Get(ctx, "job", metav1.GetOptions{})
			got = p
			return err == nil && p.Status.Phase == corev1.PodSucceeded, err
		})
		cs := got.Status.ContainerStatuses
		if len(cs) != 1 || cs[0].State.Terminated == nil || cs[0].State.Terminated.Reason != "Completed" || isReady(got) {
			t.Errorf("status %+v", got.Status)
		}
		out := s.MustKubectl("get", "pod", "job")
		if r := fields(out)["job"]; len(r) < 3 || r[2] != "Completed" {
			t.Errorf("kubectl get pod job:\n%s", out)
		}
	})

	t.Run("pod that does not fit is rejected", func(t *testing.T) {
		ctx := context.Background()
		pod := newPod("big")
		pod.Spec.NodeName = "node-0003"
		pod.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}
		if _, err := c.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		var got *corev1.Pod
		until(t, "pod big failed", func(ctx context.Context) (bool, error) {
			p, err := c.CoreV1().Pods("default").Get(ctx, "big", metav1.GetOptions{})
			got = p
			return err == nil && p.Status.Phase == corev1.PodFailed, err
		})
		want := "Pod was rejected: Node didn't have enough resource: cpu, requested: 2000, used: 0, capacity: 1000"
		if got.Status.Reason != "OutOfcpu" || got.Status.Message != want {
			t.Errorf("reason %q message %q", got.Status.Reason, got.Status.Message)
		}
	})

	t.Run("readiness gate", func(t *testing.T) {
		ctx := context.Background()
		pod := newPod("gated")
		pod.Spec.NodeName = "node-0001"
		pod.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/lb"}}
		if _, err := c.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		until(t, "pod gated running, not ready", func(ctx context.Context) (bool, error) {
			p, err := c.CoreV1().Pods("default").Get(ctx, "gated", metav1.GetOptions{})
			return err == nil && p.Status.Phase == corev1.PodRunning && !isReady(p) && hasCondition(p, corev1.ContainersReady), err
		})
		patch := `{"status":{"conditions":[{"type":"example.com/lb","status":"True"}]}}`
		if _, err := c.CoreV1().Pods("default").Patch(ctx, "gated", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}, "status"); err != nil {
			t.Fatal(err)
		}
		until(t, "pod gated ready", func(ctx context.Context) (bool, error) {
			p, err := c.CoreV1().Pods("default").Get(ctx, "gated", metav1.GetOptions{})
			return err == nil && isReady(p), err
		})
	})

	t.Run("not ready", func(t *testing.T) {
		if err := nodes.SetReady("node-0001", false); err != nil {
			t.Fatal(err)
		}
		until(t, "node-0001 NotReady in kubectl", func(ctx context.Context) (bool, error) {
			r := fields(s.MustKubectl("get", "nodes"))["node-0001"]
			return len(r) > 1 && r[1] == "NotReady", nil
		})
		if err := nodes.SetReady("node-0001", true); err != nil {
			t.Fatal(err)
		}
		until(t, "node-0001 Ready again", func(ctx context.Context) (bool, error) {
			r := fields(s.MustKubectl("get", "nodes"))["node-0001"]
			return len(r) > 1 && r[1] == "Ready", nil
		})
	})

	t.Run("killed node", func(t *testing.T) {
		ctx := context.Background()
		if err := nodes.Kill("node-0002"); err != nil {
			t.Fatal(err)
		}
		// A killed node's pods are not acted on: this one stays Pending.
		pod := newPod("orphan")
		pod.Spec.NodeName = "node-0002"
		if _, err := c.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// Once Kill returned, node-0002's lease must not move while
		// node-0000's is renewed three times.
		killed := renewTime(t, c, "node-0002")
		otherRenews(t, c, 3)
		if got := renewTime(t, c, "node-0002"); !got.Equal(killed) {
			t.Errorf("killed node's lease renewed: %v after %v", got, killed)
		}
		if p, err := c.CoreV1().Pods("default").Get(ctx, "orphan", metav1.GetOptions{}); err != nil || p.Status.Phase != corev1.PodPending {
			t.Errorf("pod on a killed node: %v %v", p.Status.Phase, err)
		}

		if err := nodes.Revive("node-0002"); err != nil {
			t.Fatal(err)
		}
		until(t, "revived node-0002 renews", func(ctx context.Context) (bool, error) {
			return renewTime(t, c, "node-0002").After(killed), nil
		})
		until(t, "pod on revived node runs", func(ctx context.Context) (bool, error) {
			p, err := c.CoreV1().Pods("default").Get(ctx, "orphan", metav1.GetOptions{})
			return err == nil && p.Status.Phase == corev1.PodRunning, err
		})
	})

	t.Run("delete node", func(t *testing.T) {
		ctx := context.Background()
		if err := nodes.Delete(ctx, "node-0003"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CoreV1().Nodes().Get(ctx, "node-0003", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("node-0003 after Delete: %v", err)
		}
		if _, err := c.CoordinationV1().Leases(simnode.LeaseNamespace).Get(ctx, "node-0003", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("lease node-0003 after Delete: %v", err)
		}
	})
}

// otherRenews waits for node-0000's lease to be renewed n times.
func otherRenews(t *testing.T, c kubernetes.Interface, n int) {
	t.Helper()
	for range n {
		before := renewTime(t, c, "node-0000")
		until(t, "node-0000 renewed", func(ctx context.Context) (bool, error) {
			return renewTime(t, c, "node-0000").After(before), nil
		})
	}
}

func renewTime(t *testing.T, c kubernetes.Interface, name string) time.Time {
	t.Helper()
	l, err := c.CoordinationV1().Leases(simnode.LeaseNamespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("lease %s: %v", name, err)
	}
	return l.Spec.RenewTime.Time
}

func newPod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "init", Image: "busybox"}},
			Containers:     []corev1.Container{{Name: "app", Image: "nginx"}},
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

func hasCondition(p *corev1.Pod, t corev1.PodConditionType) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// TestRestart: nodes started again take over their Nodes and Leases, and
// the pods' IPs stay taken.
func TestRestart(t *testing.T) {
	s := clustertest.Start(t)
	c := s.Client
	ctx := context.Background()
	opts := simnode.Options{Count: 2, RenewInterval: 300 * time.Millisecond}
	quiet := opts
	quiet.Log = slog.New(slog.DiscardHandler)
	first, err := simnode.NewForConfig(s.Config, quiet)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	if err := first.Start(runCtx); err != nil {
		stop()
		t.Fatal(err)
	}
	pod := newPod("a")
	pod.Spec.NodeName = "node-0001"
	if _, err := c.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		stop()
		t.Fatal(err)
	}
	var ipA string
	until(t, "pod a running", func(ctx context.Context) (bool, error) {
		p, err := c.CoreV1().Pods("default").Get(ctx, "a", metav1.GetOptions{})
		if err == nil {
			ipA = p.Status.PodIP
		}
		return err == nil && p.Status.Phase == corev1.PodRunning, err
	})
	stop()
	first.Wait()

	simnodetest.Start(t, s.Config, opts)
	before := renewTime(t, c, "node-0001")
	until(t, "lease renewed after restart", func(ctx context.Context) (bool, error) {
		return renewTime(t, c, "node-0001").After(before), nil
	})
	pod = newPod("b")
	pod.Spec.NodeName = "node-0001"
	if _, err := c.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	until(t, "pod b running", func(ctx context.Context) (bool, error) {
		p, err := c.CoreV1().Pods("default").Get(ctx, "b", metav1.GetOptions{})
		if err == nil && p.Status.Phase == corev1.PodRunning && p.Status.PodIP == ipA {
			t.Fatalf("pod b got pod a's IP %s", ipA)
		}
		return err == nil && p.Status.Phase == corev1.PodRunning, err
	})
}

// TestAnnotations: not-ready keeps a pod unready until it goes; fail-after
// fails a pod with the exit code asked for; a deleted pod goes once
// DeleteDelay passed.
func TestAnnotations(t *testing.T) {
	s := clustertest.Start(t)
	c := s.Client
	ctx := context.Background()
	const deleteDelay = 3 * time.Second
	simnodetest.Start(t, s.Config, simnode.Options{Count: 1, DeleteDelay: deleteDelay})

	pod := newPod("slow")
	pod.Spec.NodeName = "node-0000"
	pod.Annotations = map[string]string{simnode.AnnotationNotReady: "true"}
	if _, err := c.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	until(t, "pod slow running, not ready", func(ctx context.Context) (bool, error) {
		p, err := c.CoreV1().Pods("default").Get(ctx, "slow", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning && !isReady(p), err
	})
	if out := s.MustKubectl("get", "pod", "slow"); !strings.Contains(out, "0/1") {
		t.Errorf("kubectl get pod slow:\n%s", out)
	}
	s.MustKubectl("annotate", "pod", "slow", simnode.AnnotationNotReady+"-")
	until(t, "pod slow ready", func(ctx context.Context) (bool, error) {
		p, err := c.CoreV1().Pods("default").Get(ctx, "slow", metav1.GetOptions{})
		return err == nil && isReady(p), err
	})

	pod = newPod("crash")
	pod.Spec.NodeName = "node-0000"
	pod.Spec.RestartPolicy = corev1.RestartPolicyNever
	pod.Annotations = map[string]string{simnode.AnnotationFailAfter: "100ms", simnode.AnnotationExitCode: "42"}
	if _, err := c.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var got *corev1.Pod
	until(t, "pod crash failed", func(ctx context.Context) (bool, error) {
		p, err := c.CoreV1().Pods("default").Get(ctx, "crash", metav1.GetOptions{})
		got = p
		return err == nil && p.Status.Phase == corev1.PodFailed, err
	})
	if term := got.Status.ContainerStatuses[0].State.Terminated; term == nil || term.ExitCode != 42 || term.Reason != "Error" {
		t.Errorf("container state %+v", got.Status.ContainerStatuses[0].State)
	}
	if out := s.MustKubectl("get", "pod", "crash"); !strings.Contains(out, "Error") {
		t.Errorf("kubectl get pod crash:\n%s", out)
	}

	asked := time.Now()
	if err := c.CoreV1().Pods("default").Delete(ctx, "slow", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	until(t, "pod slow gone", func(ctx context.Context) (bool, error) {
		_, err := c.CoreV1().Pods("default").Get(ctx, "slow", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	// The API server's deletion time is whole seconds: allow one.
	if took := time.Since(asked); took < deleteDelay-time.Second {
		t.Errorf("pod gone %s after its deletion, before the delete delay %s", took, deleteDelay)
	}
}

// TestCommand runs `kemudi sim-nodes` with its flags, as a user would.
func TestCommand(t *testing.T) {
	s := clustertest.Start(t)
	cmd := exec.Command(clustertest.Binary(t), "sim-nodes", "--kubeconfig", s.Kubeconfig,
		"--count", "3", "--name-prefix", "sim-", "--zones", "2", "--cpu", "8", "--resources", "example.com/gpu=1",
		"--labels", "tier=batch,team=a", "--taints", "dedicated=sim:NoSchedule", "--images", "registry.example/app:v1")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	until(t, "sim-nodes started", func(ctx context.Context) (bool, error) {
		return strings.Contains(out.String(), "nodes registered"), nil
	})
	until(t, "three Ready nodes in kubectl", func(ctx context.Context) (bool, error) {
		rows := fields(s.MustKubectl("get", "nodes", "-l", "tier=batch"))
		n := 0
		for _, name := range []string{"sim-0000", "sim-0001", "sim-0002"} {
			if r := rows[name]; len(r) > 1 && r[1] == "Ready" {
				n++
			}
		}
		return n == 3, nil
	})
	n, err := s.Client.CoreV1().Nodes().Get(context.Background(), "sim-0002", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n.Labels[corev1.LabelTopologyZone] != "zone-a" || n.Labels["team"] != "a" || len(n.Spec.Taints) != 1 || n.Spec.Taints[0].Key != "dedicated" {
		t.Errorf("labels %v taints %v", n.Labels, n.Spec.Taints)
	}
	if cpu, gpu := n.Status.Allocatable[corev1.ResourceCPU], n.Status.Allocatable["example.com/gpu"]; cpu.String() != "8" || gpu.String() != "1" {
		t.Errorf("allocatable %v", n.Status.Allocatable)
	}
	if len(n.Status.Images) != 1 || n.Status.Images[0].Names[0] != "registry.example/app:v1" {
		t.Errorf("images %v", n.Status.Images)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Errorf("sim-nodes exit: %v\n%s", err, out.String())
		}
	case <-time.After(timeout):
		t.Fatalf("sim-nodes still running %s after SIGTERM", timeout)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestPodCIDR: once the node IPAM controller gives a node its pod CIDR,
// its pods' IPs come from it.
func TestPodCIDR(t *testing.T) {
	s := clustertest.Start(t)
	s.RunControllerManager(func(o *manager.Options) {
		o.Controllers = []string{nodeipam.Name}
		o.LeaderElect = false
	})
	c := s.Client
	ctx := context.Background()
	simnodetest.Start(t, s.Config, simnode.Options{Count: 2})
	var cidr netip.Prefix
	until(t, "node-0001 has a pod CIDR", func(ctx context.Context) (bool, error) {
		n, err := c.CoreV1().Nodes().Get(ctx, "node-0001", metav1.GetOptions{})
		if err != nil || n.Spec.PodCIDR == "" {
			return false, err
		}
		cidr, err = netip.ParsePrefix(n.Spec.PodCIDR)
		return err == nil, err
	})
	pod := newPod("web")
	pod.Spec.NodeName = "node-0001"
	if _, err := c.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var ip string
	until(t, "pod web running", func(ctx context.Context) (bool, error) {
		p, err := c.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{})
		if err == nil {
			ip = p.Status.PodIP
		}
		return err == nil && p.Status.Phase == corev1.PodRunning, err
	})
	if a, err := netip.ParseAddr(ip); err != nil || !cidr.Contains(a) || a == cidr.Addr() || a == cidr.Addr().Next() {
		t.Errorf("pod IP %s: want a host address of %s past the gateway", ip, cidr)
	}
}

// TestLeavePods: nodes that leave pods alone (scheduler_perf's nodes,
// `kemudi sim-nodes --leave-pods`) keep their leases fresh while a pod
// bound to them stays Pending.
func TestLeavePods(t *testing.T) {
	s := clustertest.Start(t)
	c := s.Client
	ctx := context.Background()
	simnodetest.Start(t, s.Config, simnode.Options{Count: 1, LeavePods: true, RenewInterval: 200 * time.Millisecond})

	pod := newPod("left")
	pod.Spec.NodeName = "node-0000"
	created, err := c.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Two renewals after the pod appeared: a node acting on pods would
	// have started it well within that.
	renewals := 0
	var last time.Time
	until(t, "two lease renewals after the pod's creation", func(ctx context.Context) (bool, error) {
		l, err := c.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, "node-0000", metav1.GetOptions{})
		if err != nil || l.Spec.RenewTime == nil {
			return false, err
		}
		if at := l.Spec.RenewTime.Time; at.After(created.CreationTimestamp.Time.Add(time.Second)) && at.After(last) {
			renewals++
			last = at
		}
		return renewals >= 2, nil
	})
	p, err := c.CoreV1().Pods("default").Get(ctx, "left", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Status.Phase != corev1.PodPending || p.Status.PodIP != "" || len(p.Status.ContainerStatuses) > 0 {
		t.Errorf("pod status %+v, want it left Pending", p.Status)
	}
}
