package daemonset_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller/controllertest"
	"github.com/kemudi/kemudi/internal/simnode"
	"github.com/kemudi/kemudi/internal/simnode/simnodetest"
)

const manifest = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {app: agent}
  updateStrategy:
    type: RollingUpdate
    rollingUpdate: {maxUnavailable: 1}
  template:
    metadata:
      labels: {app: agent}
    spec:
      nodeSelector: {role: worker}
      containers:
      - name: agent
        image: busybox:1
`

// podCounter counts the pods created in a namespace.
type podCounter struct {
	mu    sync.Mutex
	names map[string]bool
}

func countPods(t *testing.T, s *clustertest.Server, ns string) *podCounter {
	w, err := s.Client.CoreV1().Pods(ns).Watch(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := &podCounter{names: map[string]bool{}}
	go func() {
		for ev := range w.ResultChan() {
			if p, ok := ev.Object.(*corev1.Pod); ok && ev.Type == watch.Added {
				c.mu.Lock()
				c.names[p.Name] = true
				c.mu.Unlock()
			}
		}
	}()
	t.Cleanup(w.Stop)
	return c
}

func (c *podCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.names)
}

func podsByNode(t *testing.T, s *clustertest.Server, ns string) map[string][]corev1.Pod {
	t.Helper()
	pods, err := s.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=agent"})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]corev1.Pod{}
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			out[p.Spec.NodeName] = append(out[p.Spec.NodeName], p)
		}
	}
	return out
}

// A DaemonSet runs one pod on every node its selector and tolerations
// admit, follows node changes, rolls out an update within
// maxUnavailable across a controller restart without extra pods, and
// rolls back with kubectl.
func TestDaemonSetPlacementRolloutAndUndo(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	if _, err := s.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ds"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Four simulated nodes: n1 and n2 workers, n3 a worker tainted for
	// databases, n4 not a worker (yet).
	nodes := simnodetest.Start(t, s.Config, simnode.Options{Count: 4, NamePrefix: "n", Customize: func(i int, n *corev1.Node) {
		n.Name = fmt.Sprintf("n%d", i+1)
		if i < 3 {
			n.Labels["role"] = "worker"
		}
		if i == 2 {
			n.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}}
		}
	}})
	s.RunControlPlane("scheduler")
	created := countPods(t, s, "ds")
	cm := controllertest.StartManager(t, s.Config, "daemonset")

	s.MustKubectl("-n", "ds", "apply", "-f", writeFile(t, manifest))
	out := s.MustKubectl("-n", "ds", "rollout", "status", "ds/agent", "--timeout=60s")
	if !strings.Contains(out, `daemon set "agent" successfully rolled out`) {
		t.Errorf("rollout status: %s", out)
	}
	byNode := podsByNode(t, s, "ds")
	if len(byNode["n1"]) != 1 || len(byNode["n2"]) != 1 || len(byNode["n3"]) != 0 || len(byNode["n4"]) != 0 {
		t.Fatalf("pods by node: %v", byNode)
	}
	for _, pods := range byNode {
		p := pods[0]
		if p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == "" || len(p.Spec.Tolerations) < 6 {
			t.Errorf("pod %s: labels %v, tolerations %v", p.Name, p.Labels, p.Spec.Tolerations)
		}
	}

	// A node that becomes a worker gets a pod.
	s.MustKubectl("label", "node", "n4", "role=worker")
	waitDS(t, s, func(ds *appsv1.DaemonSet) bool {
		return ds.Status.DesiredNumberScheduled == 3 && ds.Status.NumberAvailable == 3
	})

	// An update, with the kubelet paused so that it stalls midway, and
	// the controller manager restarted in the middle.
	// The nodes' kubelets stall: deleted pods linger.
	for _, n := range nodes.Names() {
		if err := nodes.Kill(n); err != nil {
			t.Fatal(err)
		}
	}
	s.MustKubectl("-n", "ds", "set", "image", "ds/agent", "agent=busybox:2")
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		pods, err := s.Client.CoreV1().Pods("ds").List(ctx, metav1.ListOptions{LabelSelector: "app=agent"})
		if err != nil {
			return false, err
		}
		for _, p := range pods.Items {
			if p.DeletionTimestamp != nil {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("the update did not start: %v", err)
	}
	cm.Stop()
	cm.Start()
	for _, n := range nodes.Names() {
		if err := nodes.Revive(n); err != nil {
			t.Fatal(err)
		}
	}
	s.MustKubectl("-n", "ds", "rollout", "status", "ds/agent", "--timeout=60s")
	byNode = podsByNode(t, s, "ds")
	for _, n := range []string{"n1", "n2", "n4"} {
		if len(byNode[n]) != 1 || byNode[n][0].Spec.Containers[0].Image != "busybox:2" {
			t.Errorf("node %s: %d pods", n, len(byNode[n]))
		}
	}
	if got := created.count(); got != 6 {
		t.Errorf("%d pods created, want 6 (3 and their 3 replacements)", got)
	}

	history := s.MustKubectl("-n", "ds", "rollout", "history", "ds/agent")
	if !strings.Contains(history, "1 ") || !strings.Contains(history, "2 ") {
		t.Errorf("rollout history:\n%s", history)
	}
	s.MustKubectl("-n", "ds", "rollout", "undo", "ds/agent")
	s.MustKubectl("-n", "ds", "rollout", "status", "ds/agent", "--timeout=60s")
	for n, pods := range podsByNode(t, s, "ds") {
		if len(pods) != 1 || pods[0].Spec.Containers[0].Image != "busybox:1" {
			t.Errorf("after undo, node %s: %d pods, image %s", n, len(pods), pods[0].Spec.Containers[0].Image)
		}
	}
	revs, err := s.Client.AppsV1().ControllerRevisions("ds").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var max int64
	for _, r := range revs.Items {
		max = maxInt(max, r.Revision)
	}
	if len(revs.Items) != 2 || max != 3 {
		t.Errorf("%d revisions, highest %d; want 2, the restored one renumbered 3", len(revs.Items), max)
	}
	events := s.MustKubectl("-n", "ds", "get", "events", "--field-selector", "involvedObject.kind=DaemonSet", "-o", "custom-columns=REASON:.reason")
	for _, want := range []string{"SuccessfulCreate", "SuccessfulDelete"} {
		if !strings.Contains(events, want) {
			t.Errorf("events lack %s:\n%s", want, events)
		}
	}
}

func maxInt(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

func waitDS(t *testing.T, s *clustertest.Server, cond func(*appsv1.DaemonSet) bool) *appsv1.DaemonSet {
	t.Helper()
	var ds *appsv1.DaemonSet
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		var err error
		ds, err = s.Client.AppsV1().DaemonSets("ds").Get(ctx, "agent", metav1.GetOptions{})
		return err == nil && cond(ds), err
	})
	if err != nil {
		t.Fatalf("daemonset: %v; status %+v", err, ds.Status)
	}
	return ds
}
