package nodelifecycle_test

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller/manager"
	"github.com/kemudi/kemudi/internal/simnode"
	"github.com/kemudi/kemudi/internal/simnode/simnodetest"
)

func until(t *testing.T, what string, timeout time.Duration, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, timeout, true, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func hasTaint(n *corev1.Node, key string, effect corev1.TaintEffect) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == key && t.Effect == effect {
			return true
		}
	}
	return false
}

func readyStatus(n *corev1.Node) (corev1.ConditionStatus, string) {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status, c.Reason
		}
	}
	return "", ""
}

// TestNodeLossEvictsAndReplaces: a node whose kubelet dies goes
// Ready=Unknown and gets the unreachable taints; its pods are deleted
// once their tolerationSeconds run out and the Deployment's replacements
// run on the other nodes; when the node returns its taints come off.
func TestNodeLossEvictsAndReplaces(t *testing.T) {
	s := clustertest.Start(t)
	nodes := simnodetest.Start(t, s.Config, simnode.Options{Count: 3, Zones: 3, RenewInterval: 500 * time.Millisecond})
	s.RunControlPlane("scheduler")
	s.RunControllerManager(func(o *manager.Options) {
		o.Controller.NodeMonitorPeriod = 500 * time.Millisecond
		o.Controller.NodeMonitorGracePeriod = 3 * time.Second
	})
	ctx := context.Background()
	c := s.Client

	// The default toleration (300 s) comes from admission; a shorter one
	// keeps the test short.
	two := int64(2)
	replicas := int32(6)
	labels := map[string]string{"app": "web"}
	_, err := c.AppsV1().Deployments("default").Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{{Name: "nginx", Image: "nginx:1.27"}},
					Tolerations: []corev1.Toleration{{
						Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &two,
					}},
				},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.MustKubectl("rollout", "status", "deploy/web", "--timeout=60s")

	pods, err := c.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	// Admission added the not-ready toleration the pods lack, with 300 s.
	var notReady *corev1.Toleration
	for i, tol := range pods.Items[0].Spec.Tolerations {
		if tol.Key == corev1.TaintNodeNotReady {
			notReady = &pods.Items[0].Spec.Tolerations[i]
		}
	}
	if notReady == nil || notReady.TolerationSeconds == nil || *notReady.TolerationSeconds != 300 || notReady.Effect != corev1.TaintEffectNoExecute {
		t.Errorf("default not-ready toleration = %+v", notReady)
	}
	victim := pods.Items[0].Spec.NodeName
	var onVictim []string
	for _, p := range pods.Items {
		if p.Spec.NodeName == victim {
			onVictim = append(onVictim, p.Name)
		}
	}

	start := time.Now()
	if err := nodes.Kill(victim); err != nil {
		t.Fatal(err)
	}
	until(t, "the node to be unreachable and tainted", 30*time.Second, func(ctx context.Context) (bool, error) {
		n, err := c.CoreV1().Nodes().Get(ctx, victim, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		status, reason := readyStatus(n)
		return status == corev1.ConditionUnknown && reason == "NodeStatusUnknown" &&
			hasTaint(n, corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute) &&
			hasTaint(n, corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule), nil
	})
	t.Logf("node marked unreachable %v after it stopped", time.Since(start).Round(time.Millisecond))
	// The grace period runs from the lease's last renewal, which can be up
	// to one renew interval (0.5 s) before the kill.
	if time.Since(start) < 2500*time.Millisecond {
		t.Errorf("node marked unreachable before its grace period")
	}
	out := s.MustKubectl("get", "node", victim)
	if !strings.Contains(out, "NotReady") {
		t.Errorf("kubectl get node:\n%s", out)
	}

	// Its pods are evicted (marked, then deleted: they stay Terminating
	// while the node is away) and replaced on the live nodes.
	until(t, "the pods on the lost node to be evicted", 30*time.Second, func(ctx context.Context) (bool, error) {
		for _, name := range onVictim {
			p, err := c.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				continue // gone
			}
			if p.DeletionTimestamp == nil {
				return false, nil
			}
			found := false
			for _, cond := range p.Status.Conditions {
				found = found || (cond.Type == corev1.DisruptionTarget && cond.Reason == "DeletionByTaintManager")
			}
			if !found {
				t.Errorf("evicted pod %s has no DisruptionTarget condition: %+v", name, p.Status.Conditions)
			}
		}
		return true, nil
	})
	until(t, "replacement pods running on the other nodes", 30*time.Second, func(ctx context.Context) (bool, error) {
		list, err := c.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return false, err
		}
		ready := 0
		for _, p := range list.Items {
			if p.DeletionTimestamp != nil {
				continue
			}
			if p.Spec.NodeName == victim {
				return false, nil
			}
			for _, cond := range p.Status.Conditions {
				if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		return ready == int(replicas), nil
	})
	events := s.MustKubectl("get", "events", "-A")
	for _, reason := range []string{"TaintManagerEviction", "NodeNotReady", "RegisteredNode"} {
		if !strings.Contains(events, reason) {
			t.Errorf("no %s event in:\n%s", reason, events)
		}
	}

	// The node comes back: Ready again, its taints lifted.
	if err := nodes.Revive(victim); err != nil {
		t.Fatal(err)
	}
	until(t, "the returned node's taints to be lifted", 30*time.Second, func(ctx context.Context) (bool, error) {
		n, err := c.CoreV1().Nodes().Get(ctx, victim, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		status, _ := readyStatus(n)
		return status == corev1.ConditionTrue && len(n.Spec.Taints) == 0, nil
	})
}

// TestNotReadyNode: a kubelet that reports NotReady (its lease still
// renewed) gets the not-ready taints, and pods without a matching
// toleration go at once.
func TestNotReadyNode(t *testing.T) {
	s := clustertest.Start(t)
	nodes := simnodetest.Start(t, s.Config, simnode.Options{Count: 2, Zones: 2, RenewInterval: 500 * time.Millisecond})
	s.RunControllerManager(func(o *manager.Options) {
		o.Controllers = []string{"node-lifecycle", "taint-eviction-controller", "node-ipam"}
		o.Controller.NodeMonitorPeriod = 500 * time.Millisecond
		o.Controller.NodeMonitorGracePeriod = 3 * time.Second
	})
	ctx := context.Background()
	c := s.Client
	name := nodes.Names()[0]

	// Every node gets a /24 of the cluster CIDR.
	until(t, "pod CIDRs", 20*time.Second, func(ctx context.Context) (bool, error) {
		list, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		seen := map[string]bool{}
		for _, n := range list.Items {
			if n.Spec.PodCIDR == "" || !strings.HasPrefix(n.Spec.PodCIDR, "10.42.") || !strings.HasSuffix(n.Spec.PodCIDR, "/24") || seen[n.Spec.PodCIDR] {
				return false, nil
			}
			seen[n.Spec.PodCIDR] = true
		}
		return len(seen) == 2, nil
	})

	// "plain" tolerates unreachable forever and not-ready for the 300 s
	// admission gives it; "tolerant" tolerates everything.
	for _, p := range []*corev1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Name: "plain"}, Spec: corev1.PodSpec{NodeName: name, Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
			Tolerations: []corev1.Toleration{{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "tolerant"}, Spec: corev1.PodSpec{NodeName: name, Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
			Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}}}},
	} {
		if _, err := c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	until(t, "pods running", 20*time.Second, func(ctx context.Context) (bool, error) {
		p, err := c.CoreV1().Pods("default").Get(ctx, "plain", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning, err
	})
	if err := nodes.SetReady(name, false); err != nil {
		t.Fatal(err)
	}
	until(t, "not-ready taints", 20*time.Second, func(ctx context.Context) (bool, error) {
		n, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return hasTaint(n, corev1.TaintNodeNotReady, corev1.TaintEffectNoExecute) && hasTaint(n, corev1.TaintNodeNotReady, corev1.TaintEffectNoSchedule) &&
			!hasTaint(n, corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute), nil
	})
	// A pod that tolerates not-ready for 0 s goes at once; the others
	// stay.
	zero := int64(0)
	if _, err := c.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "impatient"},
		Spec: corev1.PodSpec{NodeName: name, Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
			Tolerations: []corev1.Toleration{{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &zero}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	until(t, "the impatient pod to be evicted", 20*time.Second, func(ctx context.Context) (bool, error) {
		p, err := c.CoreV1().Pods("default").Get(ctx, "impatient", metav1.GetOptions{})
		if err != nil {
			return true, nil
		}
		return p.DeletionTimestamp != nil, nil
	})
	for _, name := range []string{"plain", "tolerant"} {
		p, err := c.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil || p.DeletionTimestamp != nil {
			t.Errorf("pod %s was evicted: %v", name, err)
		}
	}
	// Ready again: the taints go.
	if err := nodes.SetReady(name, true); err != nil {
		t.Fatal(err)
	}
	until(t, "taints lifted", 20*time.Second, func(ctx context.Context) (bool, error) {
		n, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		return err == nil && len(n.Spec.Taints) == 0, err
	})
}
