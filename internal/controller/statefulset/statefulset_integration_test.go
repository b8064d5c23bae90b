package statefulset_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller/controllertest"
	"github.com/kemudi/kemudi/internal/simnode"
	"github.com/kemudi/kemudi/internal/simnode/simnodetest"
)

const manifest = `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: web
  replicas: 3
  selector:
    matchLabels: {app: web}
  persistentVolumeClaimRetentionPolicy:
    whenScaled: Delete
    whenDeleted: Retain
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        volumeMounts:
        - {name: data, mountPath: /data}
  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes: [ReadWriteOnce]
      resources:
        requests: {storage: 1Gi}
`

// podLog records pod creations and deletions in order.
type podLog struct {
	mu     sync.Mutex
	events []string
}

func watchPods(t *testing.T, s *clustertest.Server, ns string) *podLog {
	w, err := s.Client.CoreV1().Pods(ns).Watch(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l := &podLog{}
	go func() {
		seenDeleting := map[string]bool{}
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			l.mu.Lock()
			switch {
			case ev.Type == watch.Added:
				l.events = append(l.events, "+"+p.Name)
				delete(seenDeleting, p.Name)
			case p.DeletionTimestamp != nil && !seenDeleting[p.Name]:
				seenDeleting[p.Name] = true
				l.events = append(l.events, "-"+p.Name)
			}
			l.mu.Unlock()
		}
	}()
	t.Cleanup(w.Stop)
	return l
}

// take returns the events since the last take.
func (l *podLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.events
	l.events = nil
	return out
}

func TestStatefulSetOrderedRolloutPartitionAndScale(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	if _, err := s.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "sts"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	log := watchPods(t, s, "sts")
	nodes := simnodetest.Start(t, s.Config, simnode.Options{Count: 2})
	s.RunControlPlane("scheduler")
	provisionClaims(t, s, "sts")
	cm := controllertest.StartManager(t, s.Config, "statefulset", "garbage-collector", "persistentvolumeclaim-protection")

	path := filepath.Join(t.TempDir(), "web.yaml")
	if err := os.WriteFile(path, []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	s.MustKubectl("-n", "sts", "apply", "-f", path)
	out := s.MustKubectl("-n", "sts", "rollout", "status", "sts/web", "--timeout=60s")
	if !strings.Contains(out, "roll out complete: 3 new pods have been updated") {
		t.Errorf("rollout status: %s", out)
	}
	if got := strings.Join(log.take(), " "); got != "+web-0 +web-1 +web-2" {
		t.Errorf("creations %q, want web-0, web-1, web-2 in order", got)
	}
	for i, name := range []string{"web-0", "web-1", "web-2"} {
		p, err := s.Client.CoreV1().Pods("sts").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Spec.Hostname != name || p.Spec.Subdomain != "web" || p.Labels[appsv1.PodIndexLabel] != string(rune('0'+i)) ||
			p.Spec.Volumes[0].PersistentVolumeClaim == nil || p.Spec.Volumes[0].PersistentVolumeClaim.ClaimName != "data-"+name {
			t.Errorf("pod %s: hostname %q subdomain %q labels %v volumes %+v", name, p.Spec.Hostname, p.Spec.Subdomain, p.Labels, p.Spec.Volumes)
		}
		claim, err := s.Client.CoreV1().PersistentVolumeClaims("sts").Get(ctx, "data-"+name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("claim of %s: %v", name, err)
		}
		if claim.Labels["app"] != "web" || len(claim.OwnerReferences) != 0 {
			t.Errorf("claim %s: labels %v owners %v (whenScaled Delete owns claims only of condemned pods)", claim.Name, claim.Labels, claim.OwnerReferences)
		}
	}

	// An update goes from the highest ordinal down, one at a time, and
	// survives a controller restart midway without extra pods.
	stall(t, nodes, true)
	s.MustKubectl("-n", "sts", "set", "image", "sts/web", "nginx=nginx:1.28")
	waitFor(t, func() bool { return len(snapshot(log)) > 0 })
	cm.Stop()
	cm.Start()
	stall(t, nodes, false)
	s.MustKubectl("-n", "sts", "rollout", "status", "sts/web", "--timeout=60s")
	if got := strings.Join(log.take(), " "); got != "-web-2 +web-2 -web-1 +web-1 -web-0 +web-0" {
		t.Errorf("update order %q", got)
	}
	set, err := s.Client.AppsV1().StatefulSets("sts").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st := set.Status
	if st.CurrentRevision != st.UpdateRevision || st.UpdatedReplicas != 3 || st.ReadyReplicas != 3 || st.AvailableReplicas != 3 || st.CurrentReplicas != 3 {
		t.Errorf("status after the update: %+v", st)
	}

	// A partition updates only the ordinals at or above it.
	s.MustKubectl("-n", "sts", "patch", "sts", "web", "--type=merge", "-p", `{"spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":2}}}}`)
	s.MustKubectl("-n", "sts", "set", "image", "sts/web", "nginx=nginx:1.29")
	out = s.MustKubectl("-n", "sts", "rollout", "status", "sts/web", "--timeout=60s")
	if !strings.Contains(out, "partitioned roll out complete: 1 new pods have been updated") {
		t.Errorf("partitioned rollout status: %s", out)
	}
	for name, image := range map[string]string{"web-0": "nginx:1.28", "web-1": "nginx:1.28", "web-2": "nginx:1.29"} {
		p, err := s.Client.CoreV1().Pods("sts").Get(ctx, name, metav1.GetOptions{})
		if err != nil || p.Spec.Containers[0].Image != image {
			t.Errorf("%s: image %s, want %s (%v)", name, p.Spec.Containers[0].Image, image, err)
		}
	}
	log.take()

	// Scaling down removes the highest ordinals, in order, and gives their
	// claims to the pods (whenScaled: Delete) for the garbage collector.
	s.MustKubectl("-n", "sts", "scale", "sts/web", "--replicas=1")
	waitFor(t, func() bool {
		set, err := s.Client.AppsV1().StatefulSets("sts").Get(ctx, "web", metav1.GetOptions{})
		return err == nil && set.Status.Replicas == 1 && set.Status.ReadyReplicas == 1
	})
	if got := strings.Join(log.take(), " "); got != "-web-2 -web-1" {
		t.Errorf("scale down %q", got)
	}
	claim, err := s.Client.CoreV1().PersistentVolumeClaims("sts").Get(ctx, "data-web-0", metav1.GetOptions{})
	if err != nil || len(claim.OwnerReferences) != 0 {
		t.Errorf("claim of the kept pod: %v %v", err, claim.OwnerReferences)
	}
	// The claims of the removed pods go with them.
	waitFor(t, func() bool {
		claims, err := s.Client.CoreV1().PersistentVolumeClaims("sts").List(ctx, metav1.ListOptions{})
		return err == nil && len(claims.Items) == 1 && claims.Items[0].Name == "data-web-0"
	})
	events := s.MustKubectl("-n", "sts", "get", "events", "--field-selector", "involvedObject.kind=StatefulSet", "-o", "custom-columns=REASON:.reason,MESSAGE:.message")
	for _, want := range []string{"Create Pod web-0 in StatefulSet web successful", "Create Claim data-web-0 Pod web-0 in StatefulSet web success", "Delete Pod web-2 in StatefulSet web successful"} {
		if !strings.Contains(events, want) {
			t.Errorf("events lack %q:\n%s", want, events)
		}
	}
}

// Parallel management creates every pod at once.
func TestStatefulSetParallel(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	if _, err := s.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "par"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// No nodes: nothing runs, and OrderedReady would stop at par-0.
	controllertest.StartManager(t, s.Config, "statefulset")
	replicas := int32(4)
	set := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "par"},
		Spec: appsv1.StatefulSetSpec{
			Replicas: &replicas, ServiceName: "par", PodManagementPolicy: appsv1.ParallelPodManagement,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "par"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "par"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
			},
		},
	}
	if _, err := s.Client.AppsV1().StatefulSets("par").Create(ctx, set, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		pods, err := s.Client.CoreV1().Pods("par").List(ctx, metav1.ListOptions{})
		return err == nil && len(pods.Items) == 4
	})
}

// stall kills (or revives) every simulated node: their pods stay as they
// are, deleted ones linger.
func stall(t *testing.T, nodes *simnode.Nodes, on bool) {
	t.Helper()
	for _, n := range nodes.Names() {
		f := nodes.Revive
		if on {
			f = nodes.Kill
		}
		if err := f(n); err != nil {
			t.Fatal(err)
		}
	}
}

// provisionClaims plays a volume provisioner and the volume controller
// for a namespace: every claim gets a volume of its own and is bound to
// it, so that the scheduler places its pod.
func provisionClaims(t *testing.T, s *clustertest.Server, ns string) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		_ = wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			claims, err := s.Client.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, nil
			}
			for _, c := range claims.Items {
				if c.Spec.VolumeName != "" || c.DeletionTimestamp != nil {
					continue
				}
				pv := &corev1.PersistentVolume{
					ObjectMeta: metav1.ObjectMeta{Name: "pv-" + string(c.UID)},
					Spec: corev1.PersistentVolumeSpec{
						Capacity:               corev1.ResourceList{corev1.ResourceStorage: c.Spec.Resources.Requests[corev1.ResourceStorage]},
						AccessModes:            c.Spec.AccessModes,
						PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/" + c.Name}},
						ClaimRef:               &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: ns, Name: c.Name, UID: c.UID},
					},
				}
				if _, err := s.Client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
					continue
				}
				c.Spec.VolumeName = pv.Name
				// The scheduler, as upstream's, waits for the volume
				// controller's mark that the binding is complete.
				metav1.SetMetaDataAnnotation(&c.ObjectMeta, "pv.kubernetes.io/bind-completed", "yes")
				updated, err := s.Client.CoreV1().PersistentVolumeClaims(ns).Update(ctx, &c, metav1.UpdateOptions{})
				if err != nil {
					continue
				}
				updated.Status.Phase = corev1.ClaimBound
				updated.Status.Capacity = pv.Spec.Capacity
				updated.Status.AccessModes = pv.Spec.AccessModes
				_, _ = s.Client.CoreV1().PersistentVolumeClaims(ns).UpdateStatus(ctx, updated, metav1.UpdateOptions{})
			}
			return false, nil
		})
	}()
}

func snapshot(l *podLog) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.events...)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 60*time.Second, true, func(context.Context) (bool, error) {
		return cond(), nil
	}); err != nil {
		t.Fatal(err)
	}
}
