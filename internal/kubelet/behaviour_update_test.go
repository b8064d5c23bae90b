package kubelet_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

type waitPodFunc func(t *testing.T, name, what string, cond func(p *corev1.Pod) bool) *corev1.Pod

func waiting(p *corev1.Pod) *corev1.ContainerStateWaiting {
	if cs := p.Status.ContainerStatuses; len(cs) == 1 {
		return cs[0].State.Waiting
	}
	return nil
}

// updatePods are the pods of testUpdates: volumes updated in place,
// readiness that comes and goes, and bad input.
func updatePods(n *node, img string) []*corev1.Pod {
	watched := pod("watched", corev1.RestartPolicyAlways, img, "exec sleep 3600")
	c := &watched.Spec.Containers[0]
	// Ready only once the container sees the updated configMap and secret.
	c.ReadinessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"sh", "-c", "grep -qx two /cfg/v && grep -qx new /sec/p"}}},
		PeriodSeconds: 1,
	}
	c.VolumeMounts = []corev1.VolumeMount{{Name: "cfg", MountPath: "/cfg"}, {Name: "sec", MountPath: "/sec"}}
	watched.Spec.Volumes = []corev1.Volume{
		{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "watched"}}}},
		{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "watched"}}},
	}

	// Ready while the test's flag file exists (on a hostPath).
	toggle := pod("toggle", corev1.RestartPolicyAlways, img, "exec sleep 3600")
	toggle.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"cat", "/flag/ready"}}},
		PeriodSeconds: 1, FailureThreshold: 1,
	}
	orCreate := corev1.HostPathDirectoryOrCreate
	toggle.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "flag", MountPath: "/flag"}}
	toggle.Spec.Volumes = []corev1.Volume{{Name: "flag", VolumeSource: corev1.VolumeSource{
		HostPath: &corev1.HostPathVolumeSource{Path: toggleDir(n), Type: &orCreate}}}}

	closed := pod("closed", corev1.RestartPolicyAlways, img, "exec sleep 3600")
	closed.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(9)}},
		PeriodSeconds: 1,
	}

	unmounted := pod("unmounted", corev1.RestartPolicyAlways, img, "exec sleep 3600")
	unmounted.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "cfg", MountPath: "/cfg"}}
	unmounted.Spec.Volumes = []corev1.Volume{{Name: "cfg", VolumeSource: corev1.VolumeSource{
		ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "appears"}}}}}

	dirType := corev1.HostPathDirectory
	noDir := pod("nodir", corev1.RestartPolicyAlways, img, "exec sleep 3600")
	noDir.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "host", MountPath: "/host"}}
	noDir.Spec.Volumes = []corev1.Volume{{Name: "host", VolumeSource: corev1.VolumeSource{
		HostPath: &corev1.HostPathVolumeSource{Path: filepath.Join(n.rt.Dir, "no-such-dir"), Type: &dirType}}}}

	noCmd := pod("nocmd", corev1.RestartPolicyAlways, img, "")
	noCmd.Spec.Containers[0].Command = []string{"/no/such/binary"}
	return []*corev1.Pod{watched, toggle, closed, unmounted, noDir, noCmd}
}

func toggleDir(n *node) string { return filepath.Join(n.rt.Dir, "toggle") }

// testUpdates checks the pods of updatePods.
func testUpdates(t *testing.T, n *node, waitPod waitPodFunc) {
	ctx := context.Background()
	t.Run("configMap and secret volumes updated in place", func(t *testing.T) {
		before := waitPod(t, "watched", "Running, not Ready on the first content", func(p *corev1.Pod) bool {
			cs := p.Status.ContainerStatuses
			return p.Status.Phase == corev1.PodRunning && len(cs) == 1 && cs[0].State.Running != nil && !isReady(p)
		})
		cm, err := n.c.CoreV1().ConfigMaps("default").Get(ctx, "watched", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cm.Data["v"] = "two"
		if _, err := n.c.CoreV1().ConfigMaps("default").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		sec, err := n.c.CoreV1().Secrets("default").Get(ctx, "watched", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sec.Data["p"] = []byte("new")
		if _, err := n.c.CoreV1().Secrets("default").Update(ctx, sec, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		after := waitPod(t, "watched", "Ready on the updated content", isReady)
		was, is := before.Status.ContainerStatuses[0], after.Status.ContainerStatuses[0]
		if is.ContainerID != was.ContainerID || is.RestartCount != 0 {
			t.Errorf("container restarted: %s (restarts %d) was %s", is.ContainerID, is.RestartCount, was.ContainerID)
		}
		dir := filepath.Join(n.rt.Dir, "kubelet", "pods", string(after.UID), "volumes", "kubernetes.io~configmap", "cfg")
		if target, err := os.Readlink(filepath.Join(dir, "..data")); err != nil || !strings.HasPrefix(target, "..") {
			t.Errorf("..data: %q, %v", target, err)
		}
		if target, err := os.Readlink(filepath.Join(dir, "v")); err != nil || target != "..data/v" {
			t.Errorf("v: %q, %v", target, err)
		}
	})
	t.Run("readiness comes and goes", func(t *testing.T) {
		flag := filepath.Join(toggleDir(n), "ready")
		first := waitPod(t, "toggle", "Running, not Ready", func(p *corev1.Pod) bool {
			return p.Status.Phase == corev1.PodRunning && !isReady(p)
		})
		if err := os.WriteFile(flag, []byte("yes"), 0o644); err != nil {
			t.Fatal(err)
		}
		waitPod(t, "toggle", "Ready", isReady)
		if err := os.Remove(flag); err != nil {
			t.Fatal(err)
		}
		gone := waitPod(t, "toggle", "no longer Ready", func(p *corev1.Pod) bool {
			return !isReady(p) && p.Status.Phase == corev1.PodRunning
		})
		if a, b := first.Status.ContainerStatuses[0], gone.Status.ContainerStatuses[0]; b.ContainerID != a.ContainerID || b.RestartCount != 0 || b.Ready {
			t.Errorf("readiness failure touched the container: %+v", b)
		}
		waitEvent(t, n, "toggle", "Unhealthy", "Readiness probe failed")
	})
	t.Run("probe on a closed port", func(t *testing.T) {
		waitPod(t, "closed", "Running, not Ready", func(p *corev1.Pod) bool {
			return p.Status.Phase == corev1.PodRunning && !isReady(p)
		})
		waitEvent(t, n, "closed", "Unhealthy", "connection refused")
	})
	t.Run("missing configMap volume, then created", func(t *testing.T) {
		waitPod(t, "unmounted", "Pending in ContainerCreating", func(p *corev1.Pod) bool {
			w := waiting(p)
			return p.Status.Phase == corev1.PodPending && w != nil && w.Reason == "ContainerCreating"
		})
		waitEvent(t, n, "unmounted", "FailedMount", `MountVolume.SetUp failed for volume "cfg" : configmap "appears" not found`)
		if _, err := n.c.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "appears"}, Data: map[string]string{"x": "1"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitPod(t, "unmounted", "Running and Ready", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning && isReady(p) })
	})
	t.Run("hostPath Directory that does not exist", func(t *testing.T) {
		waitEvent(t, n, "nodir", "FailedMount", `MountVolume.SetUp failed for volume "host" : hostPath type check failed`)
		p, err := n.c.CoreV1().Pods("default").Get(ctx, "nodir", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if w := waiting(p); p.Status.Phase != corev1.PodPending || w == nil || w.Reason != "ContainerCreating" {
			t.Errorf("nodir: %s", describe([]corev1.Pod{*p}))
		}
	})
	t.Run("command not in the image", func(t *testing.T) {
		// Upstream (containerd) fails at StartContainer: RunContainerError.
		// kemudi's runtime runs runc's create, whose init checks the
		// command, at CreateContainer: CreateContainerError, with the
		// same message from the runtime.
		// On containerd the container was created, so after the failed
		// start the pod shows RunContainerError only until the next sync
		// puts it in CrashLoopBackOff; a poll may see either.
		want := map[string]string{"containerd": "RunContainerError", "kemudi": "CreateContainerError"}[n.rt.Name]
		const msg = `exec: "/no/such/binary": stat /no/such/binary: no such file or directory`
		waitPod(t, "nocmd", want, func(p *corev1.Pod) bool {
			w := waiting(p)
			switch {
			case w == nil:
				return false
			case w.Reason == want:
				return strings.Contains(w.Message, msg)
			default:
				return want == "RunContainerError" && w.Reason == "CrashLoopBackOff"
			}
		})
		waitEvent(t, n, "nocmd", "Failed", msg)
	})
	t.Run("node stays Ready", func(t *testing.T) {
		nd, err := n.c.CoreV1().Nodes().Get(ctx, n.name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range nd.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status != corev1.ConditionTrue {
				t.Errorf("node Ready=%s: %s", c.Status, c.Message)
			}
		}
	})
}

// noHotLoop checks that a crashing container is restarted with back-off:
// at most one restart in the seconds after CrashLoopBackOff shows.
func noHotLoop(t *testing.T, n *node, name string, seen *corev1.Pod) {
	t.Helper()
	first := seen.Status.ContainerStatuses[0].RestartCount
	end := time.Now().Add(6 * time.Second)
	for time.Now().Before(end) {
		p, err := n.c.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if r := p.Status.ContainerStatuses[0].RestartCount; r > first+1 {
			t.Fatalf("restarted %d times in 6 s of CrashLoopBackOff: a hot loop", r-first)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if w := waiting(seen); w == nil || !strings.Contains(w.Message, "back-off ") {
		t.Errorf("waiting %+v", w)
	}
}
