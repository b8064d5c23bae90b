package replicaset_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller/controllertest"
	"github.com/kemudi/kemudi/internal/simnode"
	"github.com/kemudi/kemudi/internal/simnode/simnodetest"
)

const ns = "default"

func startCluster(t *testing.T) *clustertest.Server {
	t.Helper()
	s := clustertest.Start(t)
	s.RunControlPlane("controller-manager", "scheduler")
	simnodetest.Start(t, s.Config, simnode.Options{Count: 3})
	return s
}

func replicaSet(name string, replicas int32, mutate func(*appsv1.ReplicaSet)) *appsv1.ReplicaSet {
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name, "tier": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}},
			},
		},
	}
	if mutate != nil {
		mutate(rs)
	}
	return rs
}

// podCounter counts the pods a watch sees created.
type podCounter struct {
	mu      sync.Mutex
	created int
	stop    func()
	done    chan struct{}
}

func countCreations(t *testing.T, s *clustertest.Server, selector string) *podCounter {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := s.Client.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	c := &podCounter{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for ev := range w.ResultChan() {
			if ev.Type == watch.Added {
				c.mu.Lock()
				c.created++
				c.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-c.done })
	return c
}

func (c *podCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.created
}

func readyStatus(rs *appsv1.ReplicaSet, n int32) bool {
	st := rs.Status
	return st.ObservedGeneration == rs.Generation && st.Replicas == n && st.FullyLabeledReplicas == n &&
		st.ReadyReplicas == n && st.AvailableReplicas == n && st.TerminatingReplicas != nil && *st.TerminatingReplicas == 0
}

// A burst of creations never overshoots: 100 replicas, 100 pods created.
func TestReplicaSetBurst(t *testing.T) {
	s := startCluster(t)
	ctx := context.Background()
	c := countCreations(t, s, "app=web")
	if _, err := s.Client.AppsV1().ReplicaSets(ns).Create(ctx, replicaSet("web", 100, nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.WaitFor(t, "100 ready replicas", 60*time.Second, func(ctx context.Context) (bool, error) {
		rs, err := s.Client.AppsV1().ReplicaSets(ns).Get(ctx, "web", metav1.GetOptions{})
		return err == nil && readyStatus(rs, 100), err
	})
	if n := c.count(); n != 100 {
		t.Fatalf("%d pods created for 100 replicas", n)
	}
}

// Replicas are kept exactly: scale up and down create and delete just the
// difference, status follows, and the events say what happened.
func TestReplicaSetScales(t *testing.T) {
	s := startCluster(t)
	ctx := context.Background()
	c := countCreations(t, s, "app=web")
	if _, err := s.Client.AppsV1().ReplicaSets(ns).Create(ctx, replicaSet("web", 8, nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	get := func(ctx context.Context) (*appsv1.ReplicaSet, error) {
		return s.Client.AppsV1().ReplicaSets(ns).Get(ctx, "web", metav1.GetOptions{})
	}
	controllertest.WaitFor(t, "8 ready replicas", 60*time.Second, func(ctx context.Context) (bool, error) {
		rs, err := get(ctx)
		return err == nil && readyStatus(rs, 8), err
	})
	pods, err := s.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		ref := metav1.GetControllerOf(&p)
		if ref == nil || ref.Kind != "ReplicaSet" || ref.Name != "web" || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion ||
			!strings.HasPrefix(p.Name, "web-") || p.Labels["tier"] != "web" {
			t.Fatalf("pod %s: owner %+v labels %v", p.Name, p.OwnerReferences, p.Labels)
		}
	}
	s.MustKubectl("scale", "rs/web", "--replicas=3")
	controllertest.WaitFor(t, "3 replicas", 60*time.Second, func(ctx context.Context) (bool, error) {
		rs, err := get(ctx)
		if err != nil || !readyStatus(rs, 3) {
			return false, err
		}
		p, err := s.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		return err == nil && len(p.Items) == 3, err
	})
	s.MustKubectl("scale", "rs/web", "--replicas=5")
	controllertest.WaitFor(t, "5 replicas", 60*time.Second, func(ctx context.Context) (bool, error) {
		rs, err := get(ctx)
		return err == nil && readyStatus(rs, 5), err
	})
	if n := c.count(); n != 10 {
		t.Fatalf("%d pods created in all, want 10", n)
	}
	// (The event recorder lets 25 events per object through in a burst,
	// as upstream's: this test stays below.)
	var out string
	defer func() {
		if t.Failed() {
			t.Logf("events:\n%s", out)
		}
	}()
	controllertest.WaitFor(t, "events", 30*time.Second, func(context.Context) (bool, error) {
		var err error
		out, err = s.Kubectl("get", "events", "--field-selector", "involvedObject.kind=ReplicaSet,involvedObject.name=web")
		return err == nil && strings.Contains(out, "SuccessfulCreate") && strings.Contains(out, "Created pod: web-") &&
			strings.Contains(out, "SuccessfulDelete") && strings.Contains(out, "Deleted pod: web-"), nil
	})
}

// Orphans the selector matches are adopted; a pod relabelled out of the
// selector is released and replaced.
func TestAdoptAndRelease(t *testing.T) {
	s := startCluster(t)
	ctx := context.Background()
	orphan := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "stray", Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}},
	}
	if _, err := s.Client.CoreV1().Pods(ns).Create(ctx, orphan, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rs, err := s.Client.AppsV1().ReplicaSets(ns).Create(ctx, replicaSet("web", 2, nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	controllertest.WaitFor(t, "the stray pod adopted and one more created", 30*time.Second, func(ctx context.Context) (bool, error) {
		p, err := s.Client.CoreV1().Pods(ns).Get(ctx, "stray", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ref := metav1.GetControllerOf(p)
		if ref == nil || ref.UID != rs.UID || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
			return false, nil
		}
		got, err := s.Client.AppsV1().ReplicaSets(ns).Get(ctx, "web", metav1.GetOptions{})
		// One of the two lacks the template's tier label.
		return err == nil && got.Status.Replicas == 2 && got.Status.FullyLabeledReplicas == 1 && got.Status.ReadyReplicas == 2, err
	})
	if _, err := s.Client.CoreV1().Pods(ns).Patch(ctx, "stray", "application/merge-patch+json",
		[]byte(`{"metadata":{"labels":{"app":"other"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.WaitFor(t, "the relabelled pod released and replaced", 30*time.Second, func(ctx context.Context) (bool, error) {
		p, err := s.Client.CoreV1().Pods(ns).Get(ctx, "stray", metav1.GetOptions{})
		if err != nil || metav1.GetControllerOf(p) != nil {
			return false, err
		}
		got, err := s.Client.AppsV1().ReplicaSets(ns).Get(ctx, "web", metav1.GetOptions{})
		return err == nil && got.Status.Replicas == 2 && got.Status.FullyLabeledReplicas == 2, err
	})
}

// Pods that cannot be created are reported (FailedCreate events, the
// ReplicaFailure condition) without a runaway of attempts; once they can
// be, they are, and the condition goes.
func TestFailedCreate(t *testing.T) {
	s := startCluster(t)
	ctx := context.Background()
	rs := replicaSet("web", 20, func(rs *appsv1.ReplicaSet) { rs.Spec.Template.Spec.PriorityClassName = "later" })
	if _, err := s.Client.AppsV1().ReplicaSets(ns).Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.WaitFor(t, "the ReplicaFailure condition", 30*time.Second, func(ctx context.Context) (bool, error) {
		got, err := s.Client.AppsV1().ReplicaSets(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range got.Status.Conditions {
			if c.Type == appsv1.ReplicaSetReplicaFailure && c.Status == corev1.ConditionTrue && c.Reason == "FailedCreate" &&
				strings.Contains(c.Message, "no PriorityClass with name later was found") {
				return true, nil
			}
		}
		return false, nil
	})
	var out string
	defer func() {
		if t.Failed() {
			t.Logf("events:\n%s", out)
		}
	}()
	controllertest.WaitFor(t, "FailedCreate events", 30*time.Second, func(context.Context) (bool, error) {
		var err error
		out, err = s.Kubectl("get", "events", "--field-selector", "reason=FailedCreate")
		return err == nil && strings.Contains(out, "is forbidden: no PriorityClass with name later was found"), nil
	})
	pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "later"}, Value: 10}
	if _, err := s.Client.SchedulingV1().PriorityClasses().Create(ctx, pc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.WaitFor(t, "20 ready pods and no failure", 60*time.Second, func(ctx context.Context) (bool, error) {
		got, err := s.Client.AppsV1().ReplicaSets(ns).Get(ctx, "web", metav1.GetOptions{})
		return err == nil && got.Status.ReadyReplicas == 20 && len(got.Status.Conditions) == 0, err
	})
}

// The seed's replication controller: a ReplicationController keeps its
// pods as a ReplicaSet does, through kubectl.
func TestReplicationController(t *testing.T) {
	s := startCluster(t)
	manifest := `apiVersion: v1
kind: ReplicationController
metadata: {name: legacy}
spec:
  replicas: 3
  selector: {app: legacy}
  template:
    metadata: {labels: {app: legacy}}
    spec: {containers: [{name: c, image: nginx}]}
`
	if _, err := s.KubectlStdin(strings.NewReader(manifest), "apply", "-f", "-"); err != nil {
		t.Fatal(err)
	}
	status := func(ctx context.Context, n int32) (bool, error) {
		rc, err := s.Client.CoreV1().ReplicationControllers(ns).Get(ctx, "legacy", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		st := rc.Status
		return st.ObservedGeneration == rc.Generation && st.Replicas == n && st.ReadyReplicas == n && st.AvailableReplicas == n && st.FullyLabeledReplicas == n, nil
	}
	controllertest.WaitFor(t, "3 ready replicas", 60*time.Second, func(ctx context.Context) (bool, error) { return status(ctx, 3) })
	out := s.MustKubectl("get", "rc", "legacy")
	if !strings.Contains(out, "legacy   3         3         3") {
		t.Fatalf("get rc:\n%s", out)
	}
	s.MustKubectl("scale", "rc/legacy", "--replicas=1")
	controllertest.WaitFor(t, "1 replica", 60*time.Second, func(ctx context.Context) (bool, error) {
		ok, err := status(ctx, 1)
		if !ok || err != nil {
			return ok, err
		}
		p, err := s.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=legacy"})
		return err == nil && len(p.Items) == 1, err
	})
	controllertest.WaitFor(t, "events from the replication controller", 30*time.Second, func(context.Context) (bool, error) {
		out, err := s.Kubectl("get", "events", "--field-selector", "involvedObject.kind=ReplicationController", "-o",
			"custom-columns=REASON:.reason,SOURCE:.source.component")
		return err == nil && strings.Contains(out, "SuccessfulCreate   replication-controller") && strings.Contains(out, "SuccessfulDelete   replication-controller"), nil
	})
	s.MustKubectl("delete", "rc", "legacy")
	controllertest.WaitFor(t, "pods gone with the controller", 60*time.Second, func(ctx context.Context) (bool, error) {
		p, err := s.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=legacy"})
		return err == nil && len(p.Items) == 0, err
	})
}
