package deployment_test

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kemudi/kemudi/internal/controller/controllertest"
)

func deployment(name string, replicas int32, mutate func(*appsv1.Deployment)) *appsv1.Deployment {
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx:1"}}},
			},
		},
	}
	if mutate != nil {
		mutate(d)
	}
	return d
}

func setImage(t *testing.T, s interface {
	MustKubectl(...string) string
}, name, image string) {
	t.Helper()
	s.MustKubectl("set", "image", "deploy/"+name, "c="+image)
}

// A controller manager that restarts mid-rollout finishes it without
// creating a pod more than the rollout needs.
func TestRestartMidRollout(t *testing.T) {
	s, m, k := startGated(t)
	ctx := context.Background()
	d := deployment("web", 4, func(d *appsv1.Deployment) {
		one, zero := intstr.FromInt32(1), intstr.FromInt32(0)
		d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: &one, MaxUnavailable: &zero}
	})
	if _, err := s.Client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.MustKubectl("rollout", "status", "deploy/web", "--timeout=60s")

	w := watchPods(t, s.Client, "app=web")
	k.Pause()
	setImage(t, s, "web", "nginx:2")
	controllertest.WaitFor(t, "the first surge pod", 30*time.Second, func(context.Context) (bool, error) {
		_, _, created := w.figures()
		return created == 1, nil
	})
	m.Stop()
	m.Start()
	// The restarted manager sees the same world: still one new pod,
	// which it may not add to while that pod is unready.
	controllertest.WaitFor(t, "the restarted manager to sync", 30*time.Second, func(ctx context.Context) (bool, error) {
		d, err := s.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		return err == nil && d.Status.ObservedGeneration == d.Generation && d.Status.UpdatedReplicas == 1, err
	})
	m.Stop()
	m.Start()
	k.Resume()
	s.MustKubectl("rollout", "status", "deploy/web", "--timeout=60s")
	w.close()
	maxActive, minAvailable, created := w.figures()
	t.Logf("restarted rollout: at most %d pods, at least %d available, %d created", maxActive, minAvailable, created)
	if created != 4 || maxActive > 5 || minAvailable < 4 {
		t.Fatalf("restarted rollout: %d pods created (want 4), up to %d at once (want <= 5), down to %d available (want >= 4)", created, maxActive, minAvailable)
	}
}

// Recreate: every old pod is gone before the first new one is created.
func TestRecreate(t *testing.T) {
	s, _, _ := startGated(t)
	ctx := context.Background()
	d := deployment("web", 3, func(d *appsv1.Deployment) {
		d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	})
	if _, err := s.Client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.MustKubectl("rollout", "status", "deploy/web", "--timeout=60s")
	w := watchPods(t, s.Client, "app=web")
	setImage(t, s, "web", "nginx:2")
	s.MustKubectl("rollout", "status", "deploy/web", "--timeout=60s")
	w.close()
	maxActive, _, created := w.figures()
	if maxActive > 3 || created != 3 {
		t.Fatalf("recreate: up to %d pods at once (want <= 3), %d created (want 3)", maxActive, created)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.overlap {
		t.Fatal("a new pod was created while an old one was still running")
	}
}

// Paused: a template change makes no new set; resumed, it rolls out.
func TestPauseResume(t *testing.T) {
	s, _, _ := startGated(t)
	ctx := context.Background()
	if _, err := s.Client.AppsV1().Deployments(ns).Create(ctx, deployment("web", 2, nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.MustKubectl("rollout", "status", "deploy/web", "--timeout=60s")
	s.MustKubectl("rollout", "pause", "deploy/web")
	setImage(t, s, "web", "nginx:2")
	s.MustKubectl("scale", "deploy/web", "--replicas=3")
	controllertest.WaitFor(t, "the paused deployment to scale", 30*time.Second, func(ctx context.Context) (bool, error) {
		d, err := s.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		c := condition(d, appsv1.DeploymentProgressing)
		return d.Status.ObservedGeneration == d.Generation && d.Status.AvailableReplicas == 3 &&
			c != nil && c.Reason == "DeploymentPaused" && c.Status == corev1.ConditionUnknown, nil
	})
	if sets := replicaSets(t, s.Client, "app=web"); len(sets) != 1 || sets[0].Spec.Template.Spec.Containers[0].Image != "nginx:1" {
		t.Fatalf("paused: %d sets", len(sets))
	}
	s.MustKubectl("rollout", "resume", "deploy/web")
	s.MustKubectl("rollout", "status", "deploy/web", "--timeout=60s")
	if sets := replicaSets(t, s.Client, "app=web"); len(sets) != 2 {
		t.Fatalf("resumed: %d sets, want 2", len(sets))
	}
}

// A rollout that makes no progress for progressDeadlineSeconds is
// reported as ProgressDeadlineExceeded, and kubectl rollout status fails.
func TestProgressDeadline(t *testing.T) {
	s, _, k := startGated(t)
	ctx := context.Background()
	d := deployment("web", 2, func(d *appsv1.Deployment) {
		deadline := int32(2)
		d.Spec.ProgressDeadlineSeconds = &deadline
	})
	if _, err := s.Client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.MustKubectl("rollout", "status", "deploy/web", "--timeout=60s")
	k.Pause()
	setImage(t, s, "web", "nginx:2")
	_, err := s.Kubectl("rollout", "status", "deploy/web", "--timeout=60s")
	if err == nil || !strings.Contains(err.Error(), `deployment "web" exceeded its progress deadline`) {
		t.Fatalf("rollout status: %v", err)
	}
	got, err := s.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := condition(got, appsv1.DeploymentProgressing)
	if c == nil || c.Status != corev1.ConditionFalse || c.Reason != "ProgressDeadlineExceeded" || !strings.HasSuffix(c.Message, "has timed out progressing.") {
		t.Fatalf("progressing condition %+v", c)
	}
	// Progress resumes: the condition says so again (kubectl reads the
	// stale condition until then and fails at once, as upstream's).
	k.Resume()
	controllertest.WaitFor(t, "progress again", 30*time.Second, func(ctx context.Context) (bool, error) {
		d, err := s.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		c := condition(d, appsv1.DeploymentProgressing)
		return c != nil && c.Status == corev1.ConditionTrue, nil
	})
	s.MustKubectl("rollout", "status", "deploy/web", "--timeout=60s")
}

// Old sets beyond revisionHistoryLimit are deleted once they are empty.
func TestRevisionHistoryLimit(t *testing.T) {
	s, _, _ := startGated(t)
	ctx := context.Background()
	d := deployment("web", 1, func(d *appsv1.Deployment) {
		limit := int32(1)
		d.Spec.RevisionHistoryLimit = &limit
	})
	if _, err := s.Client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, image := range []string{"nginx:2", "nginx:3", "nginx:4"} {
		s.MustKubectl("rollout", "status", "deploy/web", "--timeout=60s")
		setImage(t, s, "web", image)
	}
	s.MustKubectl("rollout", "status", "deploy/web", "--timeout=60s")
	controllertest.WaitFor(t, "two sets left (the current and one old)", 30*time.Second, func(context.Context) (bool, error) {
		return len(replicaSets(t, s.Client, "app=web")) == 2, nil
	})
	revs := map[string]bool{}
	for _, rs := range replicaSets(t, s.Client, "app=web") {
		revs[rs.Annotations["deployment.kubernetes.io/revision"]] = true
	}
	if !revs["3"] || !revs["4"] {
		t.Fatalf("revisions kept: %v", revs)
	}
}
