package podgc_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller/controllertest"
	"github.com/kemudi/kemudi/internal/controller/manager"
	"github.com/kemudi/kemudi/internal/controller/podgc"
)

const (
	period     = 200 * time.Millisecond
	quarantine = 2 * time.Second
	finalizer  = "test.kemudi.io/keep"
)

// startGC runs a control plane whose only controller is the pod garbage
// collector, with short timings, acting as its own service account (so
// its RBAC role is exercised too).
func startGC(t *testing.T, threshold int) (*clustertest.Server, kubernetes.Interface) {
	s := clustertest.Start(t)
	s.RunControllerManager(func(o *manager.Options) {
		o.Controllers = []string{podgc.Name}
		o.Controller.PodGCPeriod = period
		o.Controller.PodGCQuarantine = quarantine
		o.Controller.TerminatedPodGCThreshold = threshold
	})
	return s, s.Client
}

func createNode(t *testing.T, c kubernetes.Interface, name string, ready corev1.ConditionStatus) {
	t.Helper()
	ctx := context.Background()
	n, err := c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready, LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
	if _, err := c.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// createPod creates a pod bound to node ("": unscheduled) and sets its
// phase, as a kubelet would.
func createPod(t *testing.T, c kubernetes.Interface, name, node string, phase corev1.PodPhase, finalizers ...string) *corev1.Pod {
	t.Helper()
	ctx := context.Background()
	p, err := c.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Finalizers: finalizers},
		Spec: corev1.PodSpec{
			NodeName:                     node,
			AutomountServiceAccountToken: new(bool),
			Containers:                   []corev1.Container{{Name: "c", Image: "busybox"}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if phase != corev1.PodPending {
		p.Status.Phase = phase
		if p, err = c.CoreV1().Pods("default").UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func getPod(t *testing.T, c kubernetes.Interface, name string) *corev1.Pod {
	t.Helper()
	p, err := c.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get pod %s: %v", name, err)
	}
	return p
}

func waitGone(t *testing.T, c kubernetes.Interface, names ...string) {
	t.Helper()
	for _, name := range names {
		controllertest.WaitFor(t, "pod "+name+" gone", 30*time.Second, func(ctx context.Context) (bool, error) {
			_, err := c.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return true, nil
			}
			return false, err
		})
	}
}

func removeFinalizers(t *testing.T, c kubernetes.Interface, name string) {
	t.Helper()
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"finalizers": nil}})
	if _, err := c.CoreV1().Pods("default").Patch(context.Background(), name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatalf("remove finalizers of %s: %v", name, err)
	}
}

func condition(p *corev1.Pod, typ corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == typ {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// forceDeleted: the pod is terminating with no grace period left.
func forceDeleted(p *corev1.Pod) bool {
	return p.DeletionTimestamp != nil && p.DeletionGracePeriodSeconds != nil && *p.DeletionGracePeriodSeconds == 0
}

// Pods of a node that was deleted (`kemudi node remove`, a cloud node
// gone) are marked Failed with the DisruptionTarget condition and deleted
// once the node has been missing for the quarantine; pods on other nodes
// stay.
func TestOrphanedPodsCollected(t *testing.T) {
	_, c := startGC(t, 12500)
	ctx := context.Background()
	createNode(t, c, "doomed", corev1.ConditionTrue)
	createNode(t, c, "stays", corev1.ConditionTrue)
	running := createPod(t, c, "running", "doomed", corev1.PodRunning, finalizer)
	createPod(t, c, "succeeded", "doomed", corev1.PodSucceeded, finalizer)
	createPod(t, c, "plain", "doomed", corev1.PodRunning)
	createPod(t, c, "elsewhere", "stays", corev1.PodRunning)
	t.Cleanup(func() {
		for _, n := range []string{"running", "succeeded"} {
			removeFinalizers(t, c, n)
		}
	})

	deleted := time.Now()
	if err := c.CoreV1().Nodes().Delete(ctx, "doomed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, c, "plain")
	if took := time.Since(deleted); took < quarantine {
		t.Errorf("orphan deleted %v after its node, before the %v quarantine", took, quarantine)
	}
	controllertest.WaitFor(t, "orphans force-deleted", 30*time.Second, func(ctx context.Context) (bool, error) {
		return forceDeleted(getPod(t, c, "running")) && forceDeleted(getPod(t, c, "succeeded")), nil
	})

	p := getPod(t, c, "running")
	if p.Status.Phase != corev1.PodFailed {
		t.Errorf("running orphan: phase %s, want Failed", p.Status.Phase)
	}
	cond := condition(p, corev1.DisruptionTarget)
	if cond == nil {
		t.Fatalf("running orphan: no DisruptionTarget condition in %+v", p.Status.Conditions)
	}
	want := corev1.PodCondition{
		Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, ObservedGeneration: running.Generation,
		Reason: "DeletionByPodGC", Message: "PodGC: node no longer exists",
	}
	got := *cond
	got.LastTransitionTime = metav1.Time{}
	if got != want {
		t.Errorf("DisruptionTarget %+v, want %+v", got, want)
	}

	// A pod that had already finished keeps its phase and gets no
	// condition.
	p = getPod(t, c, "succeeded")
	if p.Status.Phase != corev1.PodSucceeded || condition(p, corev1.DisruptionTarget) != nil {
		t.Errorf("finished orphan: phase %s, conditions %+v; want Succeeded and no DisruptionTarget", p.Status.Phase, p.Status.Conditions)
	}

	if p := getPod(t, c, "elsewhere"); p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
		t.Errorf("pod on a live node touched: phase %s, deletion %v", p.Status.Phase, p.DeletionTimestamp)
	}

	removeFinalizers(t, c, "running")
	removeFinalizers(t, c, "succeeded")
	waitGone(t, c, "running", "succeeded")
}

// Beyond --terminated-pod-gc-threshold the oldest terminated pods go,
// whatever their names; running pods do not count.
func TestTerminatedPodsBeyondThreshold(t *testing.T) {
	_, c := startGC(t, 2)
	createNode(t, c, "n1", corev1.ConditionTrue)
	// Names in the opposite order of age: the age decides. Creation
	// times have a one-second resolution, so each pod is created in a
	// later second than the one before.
	names := []string{"z-oldest", "m-older", "c-newer", "a-newest"}
	var last time.Time
	for _, name := range names {
		controllertest.WaitFor(t, "the next second", 3*time.Second, func(context.Context) (bool, error) {
			return time.Now().Truncate(time.Second).After(last), nil
		})
		p := createPod(t, c, name, "n1", corev1.PodPending)
		last = p.CreationTimestamp.Time
	}
	createPod(t, c, "running", "n1", corev1.PodRunning)
	for i, name := range names {
		p := getPod(t, c, name)
		p.Status.Phase = []corev1.PodPhase{corev1.PodSucceeded, corev1.PodFailed}[i%2]
		if _, err := c.CoreV1().Pods("default").UpdateStatus(context.Background(), p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"a-newest", "c-newer", "running"}
	var have []string
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		list, err := c.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		have = have[:0]
		for _, p := range list.Items {
			have = append(have, p.Name)
		}
		slices.Sort(have)
		return slices.Equal(have, want), nil
	})
	if err != nil {
		t.Fatalf("pods left %v, want %v: %v", have, want, err)
	}
}

// Terminating pods on a node marked out of service (node.kubernetes.io/
// out-of-service, node not Ready) are force-deleted, after being marked
// Failed; terminating pods never scheduled are force-deleted too.
func TestTerminatingPodsForceDeleted(t *testing.T) {
	_, c := startGC(t, 12500)
	ctx := context.Background()
	createNode(t, c, "oos", corev1.ConditionFalse)
	createPod(t, c, "kept", "oos", corev1.PodRunning, finalizer)
	createPod(t, c, "plain", "oos", corev1.PodRunning)
	createPod(t, c, "not-terminating", "oos", corev1.PodRunning)
	createPod(t, c, "unscheduled", "", corev1.PodPending, finalizer)
	t.Cleanup(func() {
		removeFinalizers(t, c, "kept")
		removeFinalizers(t, c, "unscheduled")
	})
	grace := int64(300)
	for _, name := range []string{"kept", "plain", "unscheduled"} {
		if err := c.CoreV1().Pods("default").Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &grace}); err != nil {
			t.Fatal(err)
		}
	}

	// Unscheduled: Failed, and deleted (its finalizer keeps it).
	controllertest.WaitFor(t, "unscheduled terminating pod marked Failed", 30*time.Second, func(ctx context.Context) (bool, error) {
		return getPod(t, c, "unscheduled").Status.Phase == corev1.PodFailed, nil
	})
	if p := getPod(t, c, "unscheduled"); !forceDeleted(p) || condition(p, corev1.DisruptionTarget) != nil {
		t.Errorf("unscheduled pod: deletion %v grace %v, conditions %+v", p.DeletionTimestamp, p.DeletionGracePeriodSeconds, p.Status.Conditions)
	}

	// The node is not yet out of service: its terminating pods wait for
	// their grace period. The pass that collected the unscheduled pod
	// saw them terminating too (the informer delivers in order, and they
	// were deleted first) and left them.
	for _, name := range []string{"kept", "plain"} {
		if p := getPod(t, c, name); p.Status.Phase != corev1.PodRunning || forceDeleted(p) {
			t.Errorf("%s force-deleted on a node not out of service: phase %s", name, p.Status.Phase)
		}
	}

	n, err := c.CoreV1().Nodes().Get(ctx, "oos", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: corev1.TaintNodeOutOfService, Value: "nodeshutdown", Effect: corev1.TaintEffectNoExecute})
	if _, err := c.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, c, "plain")
	controllertest.WaitFor(t, "terminating pod on the out-of-service node marked Failed", 30*time.Second, func(ctx context.Context) (bool, error) {
		p := getPod(t, c, "kept")
		return p.Status.Phase == corev1.PodFailed && forceDeleted(p), nil
	})
	if p := getPod(t, c, "kept"); condition(p, corev1.DisruptionTarget) != nil {
		t.Errorf("out-of-service pod got a DisruptionTarget condition: %+v", p.Status.Conditions)
	}
	if p := getPod(t, c, "not-terminating"); p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
		t.Errorf("pod not terminating was collected: phase %s, deletion %v", p.Status.Phase, p.DeletionTimestamp)
	}
	removeFinalizers(t, c, "kept")
	removeFinalizers(t, c, "unscheduled")
	waitGone(t, c, "kept", "unscheduled")
}
