package deployment_test

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
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller"
	"github.com/kemudi/kemudi/internal/controller/controllertest"
	"github.com/kemudi/kemudi/internal/simnode"
	"github.com/kemudi/kemudi/internal/simnode/simnodetest"
)

const ns = "default"

// startCluster runs the controller manager and the scheduler, with three
// simulated nodes standing in for kubelets.
func startCluster(t *testing.T) *clustertest.Server {
	t.Helper()
	s := clustertest.Start(t)
	s.RunControlPlane("controller-manager", "scheduler")
	simnodetest.Start(t, s.Config, simnode.Options{Count: 3})
	return s
}

// startGated runs only the deployment and replica set controllers, as a
// manager the test can restart, with a stand-in kubelet the test can
// pause (pods then stay unready).
func startGated(t *testing.T) (*clustertest.Server, *controllertest.Manager, *controllertest.Kubelet) {
	t.Helper()
	s := clustertest.Start(t)
	m := controllertest.StartManager(t, s.Config, "deployment", "replicaset")
	k := controllertest.StartKubelet(t, s.Client, ns, "node-1")
	return s, m, k
}

// podWatch follows the pods of a namespace and remembers the most pods
// that existed at once (not being deleted, not finished) and the fewest
// of them that were available.
type podWatch struct {
	mu           sync.Mutex
	active       map[string]bool // name -> ready
	maxActive    int
	minAvailable int
	created      int
	// overlap: a pod was created while a pod of another template was
	// active (Recreate must never).
	overlap bool
	images  map[string]string // active pod -> image
	stop    func()
	done    chan struct{}
}

func watchPods(t *testing.T, client kubernetes.Interface, selector string) *podWatch {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	list, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	w := &podWatch{active: map[string]bool{}, images: map[string]string{}, stop: cancel, done: make(chan struct{})}
	for i := range list.Items {
		w.apply(watch.Added, &list.Items[i], false)
	}
	w.minAvailable = w.available()
	wi, err := client.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: selector, ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(w.done)
		for ev := range wi.ResultChan() {
			if p, ok := ev.Object.(*corev1.Pod); ok {
				w.apply(ev.Type, p, true)
			}
		}
	}()
	t.Cleanup(w.close)
	return w
}

func (w *podWatch) apply(typ watch.EventType, p *corev1.Pod, track bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if typ == watch.Added && track {
		w.created++
		for _, img := range w.images {
			if img != p.Spec.Containers[0].Image {
				w.overlap = true
			}
		}
	}
	if typ == watch.Deleted || !controller.IsPodActive(p) {
		delete(w.active, p.Name)
		delete(w.images, p.Name)
	} else {
		w.active[p.Name] = controller.IsPodReady(p)
		w.images[p.Name] = p.Spec.Containers[0].Image
	}
	if !track {
		return
	}
	w.maxActive = max(w.maxActive, len(w.active))
	w.minAvailable = min(w.minAvailable, w.available())
}

func (w *podWatch) available() int {
	n := 0
	for _, ready := range w.active {
		if ready {
			n++
		}
	}
	return n
}

func (w *podWatch) close() {
	w.stop()
	<-w.done
}

func (w *podWatch) figures() (maxActive, minAvailable, created int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.maxActive, w.minAvailable, w.created
}

func replicaSets(t *testing.T, client kubernetes.Interface, selector string) []appsv1.ReplicaSet {
	t.Helper()
	l, err := client.AppsV1().ReplicaSets(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

// The user story, with the real kubectl: create, rollout status,
// set image (maxSurge and maxUnavailable honoured at every moment),
// history, undo, scale, events.
func TestDeploymentUserStory(t *testing.T) {
	s := startCluster(t)
	s.MustKubectl("create", "deployment", "web", "--image=nginx:1.27", "--replicas=3")
	out := s.MustKubectl("rollout", "status", "deploy/web", "--timeout=60s")
	if !strings.Contains(out, `deployment "web" successfully rolled out`) {
		t.Fatalf("rollout status: %q", out)
	}
	d, err := s.Client.AppsV1().Deployments(ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st := d.Status; st.Replicas != 3 || st.UpdatedReplicas != 3 || st.ReadyReplicas != 3 || st.AvailableReplicas != 3 ||
		st.UnavailableReplicas != 0 || st.ObservedGeneration != d.Generation || st.TerminatingReplicas == nil || *st.TerminatingReplicas != 0 {
		t.Fatalf("status after rollout: %+v", st)
	}
	if d.Annotations["deployment.kubernetes.io/revision"] != "1" {
		t.Fatalf("revision annotation %q", d.Annotations["deployment.kubernetes.io/revision"])
	}
	if c := condition(d, appsv1.DeploymentProgressing); c == nil || c.Reason != "NewReplicaSetAvailable" || c.Status != corev1.ConditionTrue {
		t.Fatalf("progressing condition %+v", c)
	}
	if c := condition(d, appsv1.DeploymentAvailable); c == nil || c.Reason != "MinimumReplicasAvailable" {
		t.Fatalf("available condition %+v", c)
	}
	sets := replicaSets(t, s.Client, "app=web")
	if len(sets) != 1 {
		t.Fatalf("%d replica sets", len(sets))
	}
	rs := sets[0]
	hash := rs.Labels["pod-template-hash"]
	if hash == "" || rs.Name != "web-"+hash || rs.Annotations["deployment.kubernetes.io/desired-replicas"] != "3" ||
		rs.Annotations["deployment.kubernetes.io/max-replicas"] != "4" || rs.Annotations["deployment.kubernetes.io/revision"] != "1" {
		t.Fatalf("replica set %s labels %v annotations %v", rs.Name, rs.Labels, rs.Annotations)
	}
	if ref := metav1.GetControllerOf(&rs); ref == nil || ref.UID != d.UID || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
		t.Fatalf("replica set owner %+v", rs.OwnerReferences)
	}

	// 3 replicas, 25% surge and unavailability: at most 4 pods, at least
	// 3 available, at every moment.
	w := watchPods(t, s.Client, "app=web")
	s.MustKubectl("set", "image", "deploy/web", "nginx=nginx:1.28")
	s.MustKubectl("rollout", "status", "deploy/web", "--timeout=60s")
	w.close()
	maxActive, minAvailable, created := w.figures()
	t.Logf("rolling update: at most %d pods, at least %d available, %d created", maxActive, minAvailable, created)
	if maxActive > 4 || minAvailable < 3 || created != 3 {
		t.Fatalf("rolling update: up to %d pods (want <= 4), down to %d available (want >= 3), %d created (want 3)", maxActive, minAvailable, created)
	}
	pods, err := s.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.Spec.Containers[0].Image != "nginx:1.28" {
			t.Errorf("pod %s runs %s after the rollout", p.Name, p.Spec.Containers[0].Image)
		}
	}

	out = s.MustKubectl("rollout", "history", "deploy/web")
	if !strings.Contains(out, "\n1 ") || !strings.Contains(out, "\n2 ") {
		t.Fatalf("rollout history:\n%s", out)
	}
	out = s.MustKubectl("rollout", "undo", "deploy/web")
	if !strings.Contains(out, "rolled back") {
		t.Fatalf("rollout undo: %q", out)
	}
	s.MustKubectl("rollout", "status", "deploy/web", "--timeout=60s")
	if img := s.MustKubectl("get", "deploy", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image}"); img != "nginx:1.27" {
		t.Fatalf("image after undo %q", img)
	}
	// The first set is the new one again, as revision 3, remembering 1.
	if got := s.MustKubectl("get", "rs", rs.Name, "-o", `jsonpath={.metadata.annotations.deployment\.kubernetes\.io/revision} {.metadata.annotations.deployment\.kubernetes\.io/revision-history} {.spec.replicas}`); got != "3 1 3" {
		t.Fatalf("first replica set after undo: %q", got)
	}
	out = s.MustKubectl("rollout", "history", "deploy/web")
	if !strings.Contains(out, "\n2 ") || !strings.Contains(out, "\n3 ") || strings.Contains(out, "\n1 ") {
		t.Fatalf("rollout history after undo:\n%s", out)
	}

	s.MustKubectl("scale", "deploy/web", "--replicas=10")
	s.MustKubectl("rollout", "status", "deploy/web", "--timeout=60s")
	controllertest.WaitFor(t, "10 ready pods", 30*time.Second, func(ctx context.Context) (bool, error) {
		d, err := s.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		return err == nil && d.Status.ReadyReplicas == 10 && d.Status.Replicas == 10, err
	})

	controllertest.WaitFor(t, "events", 30*time.Second, func(ctx context.Context) (bool, error) {
		out, err := s.Kubectl("get", "events", "--sort-by=.lastTimestamp")
		if err != nil {
			return false, err
		}
		return strings.Contains(out, "ScalingReplicaSet") && strings.Contains(out, "Scaled up replica set "+rs.Name+" from 0 to 3") &&
			strings.Contains(out, "SuccessfulCreate") && strings.Contains(out, "Created pod: web-") &&
			strings.Contains(out, "SuccessfulDelete"), nil
	})

	// kubectl delete deploy web: its ReplicaSets and pods go too (the
	// garbage collector, background propagation).
	s.MustKubectl("delete", "deploy", "web")
	controllertest.WaitFor(t, "sets and pods gone", 60*time.Second, func(ctx context.Context) (bool, error) {
		rs, err := s.Client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return false, err
		}
		pods, err := s.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		return err == nil && len(rs.Items) == 0 && len(pods.Items) == 0, err
	})
}

func condition(d *appsv1.Deployment, t appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range d.Status.Conditions {
		if d.Status.Conditions[i].Type == t {
			return &d.Status.Conditions[i]
		}
	}
	return nil
}

// Bad input is refused by validation with the field at fault.
func TestDeploymentBadInput(t *testing.T) {
	s := clustertest.Start(t)
	for _, c := range []struct{ manifest, want string }{
		{manifest(3, "web", "other"), "`selector` does not match template `labels`"},
		{manifest(-1, "web", "web"), "spec.replicas: Invalid value: -1: must be greater than or equal to 0"},
	} {
		_, err := s.KubectlStdin(strings.NewReader(c.manifest), "apply", "-f", "-")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("apply: got %v, want %q", err, c.want)
		}
	}
	if _, err := s.Client.AppsV1().Deployments(ns).Get(context.Background(), "web", metav1.GetOptions{}); err == nil {
		t.Fatal("a bad deployment was stored")
	}
}

func manifest(replicas int, selector, label string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: %d
  selector: {matchLabels: {app: %s}}
  template:
    metadata: {labels: {app: %s}}
    spec: {containers: [{name: c, image: nginx}]}
`, replicas, selector, label)
}
