package scheduler_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/simnode"
	"github.com/kemudi/kemudi/internal/simnode/simnodetest"
)

const timeout = 30 * time.Second

// cluster starts a server with the scheduler and count simulated nodes.
func cluster(t *testing.T, opts simnode.Options) (*clustertest.Server, *simnode.Nodes) {
	t.Helper()
	s := clustertest.Start(t)
	s.RunControlPlane("scheduler")
	nodes := simnodetest.Start(t, s.Config, opts)
	return s, nodes
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

func create(t *testing.T, c kubernetes.Interface, pods ...*corev1.Pod) {
	t.Helper()
	for _, p := range pods {
		if _, err := c.CoreV1().Pods(p.Namespace).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create pod %s: %v", p.Name, err)
		}
	}
}

// waitBound waits for a pod to be bound and returns its node.
func waitBound(t *testing.T, c kubernetes.Interface, ns, name string) string {
	t.Helper()
	var node string
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		p, err := c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		node = p.Spec.NodeName
		return node != "", nil
	})
	if err != nil {
		t.Fatalf("pod %s/%s not bound: %v", ns, name, err)
	}
	return node
}

// waitEvent waits for an event about a pod with the reason and returns
// its message.
func waitEvent(t *testing.T, c kubernetes.Interface, ns, pod, reason string) string {
	t.Helper()
	var msg string
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		evs, err := c.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + pod})
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
		t.Fatalf("no %s event for %s/%s: %v", reason, ns, pod, err)
	}
	return msg
}

func TestSchedulesAndReports(t *testing.T) {
	s, nodes := cluster(t, simnode.Options{Count: 3})
	create(t, s.Client, pod("web"))
	node := waitBound(t, s.Client, "default", "web")
	found := false
	for _, n := range nodes.Names() {
		found = found || n == node
	}
	if !found {
		t.Fatalf("bound to %q, not a node", node)
	}
	msg := waitEvent(t, s.Client, "default", "web", "Scheduled")
	if want := fmt.Sprintf("Successfully assigned default/web to %s", node); msg != want {
		t.Errorf("Scheduled event %q, want %q", msg, want)
	}
	out := s.MustKubectl("get", "events", "-n", "default")
	if !strings.Contains(out, "Successfully assigned default/web to "+node) {
		t.Errorf("kubectl get events:\n%s", out)
	}
}
