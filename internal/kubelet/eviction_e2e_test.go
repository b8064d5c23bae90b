package kubelet_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/kubelet"
)

// TestEviction: a kubelet restarted with memory.available below the
// machine's whole memory (so the node is "under pressure" without
// touching the machine's real memory) reports MemoryPressure and evicts
// the BestEffort pod before the Guaranteed one, each with upstream's
// Failed/Evicted status and Evicted event; a BestEffort pod that comes
// later is not admitted.
func TestEviction(t *testing.T) {
	for _, rt := range runtimes {
		t.Run(rt, func(t *testing.T) { testEviction(t, startNode(t, rt)) })
	}
}

func testEviction(t *testing.T, n *node) {
	ctx := context.Background()
	img := n.rt.Images["busybox"]
	be := pod("besteffort", corev1.RestartPolicyAlways, img, "sleep 3600")
	g := pod("guaranteed", corev1.RestartPolicyAlways, img, "sleep 3600")
	q := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")}
	g.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: q, Limits: q}
	for _, p := range []*corev1.Pod{be, g} {
		if _, err := n.c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"besteffort", "guaranteed"} {
		until(t, name+" Running", timeout, func(ctx context.Context) (bool, error) {
			p, err := n.c.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
			return err == nil && p.Status.Phase == corev1.PodRunning, err
		})
	}

	total := memTotal(t)
	threshold := resource.NewQuantity(total, resource.BinarySI)
	n.stop()
	n.tune = func(o *kubelet.Options) {
		th, err := kubelet.ParseThresholds("memory.available<" + threshold.String())
		if err != nil {
			t.Fatal(err)
		}
		o.EvictionHard, o.EvictionMonitoringInterval = th, time.Second
	}
	n.start(t)

	until(t, "node MemoryPressure True", timeout, func(ctx context.Context) (bool, error) {
		nd, err := n.c.CoreV1().Nodes().Get(ctx, n.name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range nd.Status.Conditions {
			if c.Type == corev1.NodeMemoryPressure {
				if c.Status != corev1.ConditionTrue || c.Reason != "KubeletHasInsufficientMemory" {
					return false, fmt.Errorf("%+v", c)
				}
				return true, nil
			}
		}
		return false, nil
	})
	wantMsg := "The node was low on resource: memory. Threshold quantity: " + threshold.String() + ", available: "
	until(t, "besteffort evicted first", timeout, func(ctx context.Context) (bool, error) {
		p, err := n.c.CoreV1().Pods("default").Get(ctx, "besteffort", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		gp, err := n.c.CoreV1().Pods("default").Get(ctx, "guaranteed", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if p.Status.Phase != corev1.PodFailed {
			if gp.Status.Phase == corev1.PodFailed {
				t.Fatalf("the Guaranteed pod was evicted before the BestEffort one: %s", gp.Status.Message)
			}
			return false, fmt.Errorf("besteffort %s", p.Status.Phase)
		}
		if p.Status.Reason != "Evicted" || !strings.HasPrefix(p.Status.Message, wantMsg) ||
			!strings.Contains(p.Status.Message, "Container main was using ") {
			t.Fatalf("besteffort status: reason %q message %q", p.Status.Reason, p.Status.Message)
		}
		return true, nil
	})
	waitEvent(t, n, "besteffort", "Evicted", wantMsg)
	// The node stays under pressure: the next round takes the next pod.
	until(t, "guaranteed evicted next", timeout, func(ctx context.Context) (bool, error) {
		p, err := n.c.CoreV1().Pods("default").Get(ctx, "guaranteed", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodFailed && p.Status.Reason == "Evicted", err
	})
	until(t, "evicted pods' containers stopped", timeout, func(ctx context.Context) (bool, error) {
		p, err := n.c.CoreV1().Pods("default").Get(ctx, "besteffort", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cs := range p.Status.ContainerStatuses {
			if cs.State.Terminated == nil {
				return false, fmt.Errorf("container %s: %+v", cs.Name, cs.State)
			}
		}
		return len(p.Status.ContainerStatuses) == 1, nil
	})
	// Under memory pressure a new BestEffort pod is not admitted. It is
	// bound by hand: the scheduler keeps off the node's memory-pressure
	// taint, so the kubelet sees such a pod only when a scheduler raced
	// the taint or none was asked.
	late := pod("latecomer", corev1.RestartPolicyAlways, img, "sleep 3600")
	late.Spec.NodeName = n.name
	if _, err := n.c.CoreV1().Pods("default").Create(ctx, late, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	until(t, "latecomer rejected", timeout, func(ctx context.Context) (bool, error) {
		p, err := n.c.CoreV1().Pods("default").Get(ctx, "latecomer", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if want := "Pod was rejected: The node had condition: [MemoryPressure]. "; p.Status.Phase != corev1.PodFailed || p.Status.Reason != "Evicted" || p.Status.Message != want {
			return false, fmt.Errorf("phase %s reason %q message %q, want Failed Evicted %q", p.Status.Phase, p.Status.Reason, p.Status.Message, want)
		}
		return true, nil
	})
}

// memTotal is the machine's memory in bytes.
func memTotal(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no MemTotal in /proc/meminfo")
	return 0
}
