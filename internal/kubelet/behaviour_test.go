package kubelet_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestPods checks what a user sees of single pods: crash loops, jobs and
// termination messages, volumes and environment from the API, a missing
// configMap that appears later, a missing image, liveness restarts, init
// containers, the service-account token, and a kubelet restart that
// adopts running containers.
func TestPods(t *testing.T) {
	for _, rt := range runtimes {
		t.Run(rt, func(t *testing.T) { testPods(t, startNode(t, rt)) })
	}
}

func pod(name string, policy corev1.RestartPolicy, image string, script string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"test": name}},
		Spec: corev1.PodSpec{
			RestartPolicy:                 policy,
			TerminationGracePeriodSeconds: ptr.To[int64](1),
			Containers:                    []corev1.Container{{Name: "main", Image: image, Command: []string{"sh", "-c", script}}},
		},
	}
}

func testPods(t *testing.T, n *node) {
	ctx := context.Background()
	img := n.rt.Images["busybox"]
	until(t, "default service account", timeout, func(ctx context.Context) (bool, error) {
		_, err := n.c.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err == nil, err
	})
	if _, err := n.c.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "cfg"}, Data: map[string]string{"greeting": "hello"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.c.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "sec"}, Data: map[string][]byte{"password": []byte("s3cret")}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	crash := pod("crash", corev1.RestartPolicyAlways, img, "echo boom > /dev/termination-log; exit 3")
	job := pod("job", corev1.RestartPolicyNever, img, "echo done > /dev/termination-log")
	fallback := pod("fallback", corev1.RestartPolicyNever, img, "echo from the log; exit 1")
	fallback.Spec.Containers[0].TerminationMessagePolicy = corev1.TerminationMessageFallbackToLogsOnError

	config := pod("config", corev1.RestartPolicyNever, img,
		`echo "$GREETING|$(cat /cfg/greeting)|$(cat /sec/password)|$CFG_greeting|$MSG|$(cat /info/name)|$MEM|$(cat /var/run/secrets/kubernetes.io/serviceaccount/namespace)|$(test -s /var/run/secrets/kubernetes.io/serviceaccount/token && echo token)|$(stat -f -c %T /mem)" > /dev/termination-log`)
	c := &config.Spec.Containers[0]
	c.Env = []corev1.EnvVar{
		{Name: "GREETING", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "greeting"}}},
		{Name: "MSG", Value: "$(GREETING) world"},
		{Name: "MEM", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
	}
	c.EnvFrom = []corev1.EnvFromSource{{Prefix: "CFG_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}}
	c.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}
	c.VolumeMounts = []corev1.VolumeMount{{Name: "cfg", MountPath: "/cfg"}, {Name: "sec", MountPath: "/sec"}, {Name: "info", MountPath: "/info"}, {Name: "mem", MountPath: "/mem"}}
	config.Spec.Volumes = []corev1.Volume{
		{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
		{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "sec"}}},
		{Name: "info", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
			{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}}},
		{Name: "mem", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}},
	}

	late := pod("late", corev1.RestartPolicyAlways, img, "sleep 3600")
	late.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "late"}, Key: "x"}}}}

	noImage := pod("noimage", corev1.RestartPolicyAlways, n.rt.Registry.Ref("nope:1"), "true")

	live := pod("live", corev1.RestartPolicyAlways, img, "touch /tmp/healthy; sleep 2; rm /tmp/healthy; exec sleep 3600")
	live.Spec.Containers[0].LivenessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"cat", "/tmp/healthy"}}},
		PeriodSeconds: 1, FailureThreshold: 1,
	}

	withInit := pod("init", corev1.RestartPolicyNever, img, "cat /work/out > /dev/termination-log")
	withInit.Spec.InitContainers = []corev1.Container{
		{Name: "first", Image: img, Command: []string{"sh", "-c", "echo one > /work/out"}, VolumeMounts: []corev1.VolumeMount{{Name: "work", MountPath: "/work"}}},
		{Name: "second", Image: img, Command: []string{"sh", "-c", "echo two >> /work/out"}, VolumeMounts: []corev1.VolumeMount{{Name: "work", MountPath: "/work"}}},
	}
	withInit.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "work", MountPath: "/work"}}
	withInit.Spec.Volumes = []corev1.Volume{{Name: "work", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}

	sleeper := pod("sleeper", corev1.RestartPolicyAlways, img, "exec sleep 3600")

	deadline := pod("deadline", corev1.RestartPolicyAlways, img, "exec sleep 3600")
	deadline.Spec.ActiveDeadlineSeconds = ptr.To[int64](2)

	hooked := pod("hooked", corev1.RestartPolicyNever, img, "while ! test -f /tmp/post; do sleep 0.1; done; cat /tmp/post > /dev/termination-log")
	hooked.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{
		Exec: &corev1.ExecAction{Command: []string{"sh", "-c", "echo from postStart > /tmp/post"}}}}

	for _, name := range []string{"watched"} {
		if _, err := n.c.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"v": "one"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := n.c.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string][]byte{"p": []byte("old")}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	all := append([]*corev1.Pod{crash, job, fallback, config, late, noImage, live, withInit, sleeper, hooked, deadline}, updatePods(n, img)...)
	for _, p := range all {
		p.Spec.NodeName = n.name // bound directly, as a scheduler would
		if _, err := n.c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	get := func(ctx context.Context, name string) (*corev1.Pod, error) {
		return n.c.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
	}
	waitPod := func(t *testing.T, name, what string, cond func(p *corev1.Pod) bool) *corev1.Pod {
		t.Helper()
		var p *corev1.Pod
		until(t, name+": "+what, timeout, func(ctx context.Context) (bool, error) {
			var err error
			if p, err = get(ctx, name); err != nil {
				return false, err
			}
			if !cond(p) {
				return false, fmt.Errorf("%s", describe([]corev1.Pod{*p}))
			}
			return true, nil
		})
		return p
	}
	message := func(p *corev1.Pod) string {
		if len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Terminated != nil {
			return strings.TrimSpace(p.Status.ContainerStatuses[0].State.Terminated.Message)
		}
		return ""
	}

	t.Run("crash loop", func(t *testing.T) {
		p := waitPod(t, "crash", "CrashLoopBackOff after a restart", func(p *corev1.Pod) bool {
			cs := p.Status.ContainerStatuses
			return len(cs) == 1 && cs[0].RestartCount >= 1 && cs[0].State.Waiting != nil && cs[0].State.Waiting.Reason == "CrashLoopBackOff"
		})
		last := p.Status.ContainerStatuses[0].LastTerminationState.Terminated
		if last == nil || last.ExitCode != 3 || strings.TrimSpace(last.Message) != "boom" || last.Reason != "Error" {
			t.Errorf("last state %+v", last)
		}
		if p.Status.Phase != corev1.PodRunning {
			t.Errorf("phase %s", p.Status.Phase)
		}
		waitEvent(t, n, "crash", "BackOff", "Back-off restarting failed container main in pod crash_default")
		noHotLoop(t, n, "crash", p)
	})
	t.Run("job and termination messages", func(t *testing.T) {
		p := waitPod(t, "job", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
		if m := message(p); m != "done" {
			t.Errorf("message %q", m)
		}
		p = waitPod(t, "fallback", "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
		if m := message(p); m != "from the log" {
			t.Errorf("fallback message %q", m)
		}
	})
	t.Run("volumes and environment", func(t *testing.T) {
		p := waitPod(t, "config", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
		if m, want := message(p), "hello|hello|s3cret|hello|hello world|config|64|default|token|tmpfs"; m != want {
			t.Errorf("container saw %q, want %q", m, want)
		}
	})
	t.Run("missing configMap, then created", func(t *testing.T) {
		waitPod(t, "late", "CreateContainerConfigError", func(p *corev1.Pod) bool {
			cs := p.Status.ContainerStatuses
			return len(cs) == 1 && cs[0].State.Waiting != nil && cs[0].State.Waiting.Reason == "CreateContainerConfigError" &&
				cs[0].State.Waiting.Message == `configmap "late" not found`
		})
		if _, err := n.c.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "late"}, Data: map[string]string{"x": "1"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitPod(t, "late", "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning && isReady(p) })
	})
	t.Run("missing image", func(t *testing.T) {
		waitPod(t, "noimage", "ErrImagePull or ImagePullBackOff", func(p *corev1.Pod) bool {
			cs := p.Status.ContainerStatuses
			return len(cs) == 1 && cs[0].State.Waiting != nil && (cs[0].State.Waiting.Reason == "ErrImagePull" || cs[0].State.Waiting.Reason == "ImagePullBackOff")
		})
		waitEvent(t, n, "noimage", "Failed", "Failed to pull image")
		waitEvent(t, n, "noimage", "Failed", "Error: ErrImagePull")
		// The next try falls in the back-off: upstream says so in an event too.
		waitEvent(t, n, "noimage", "Failed", "Error: ImagePullBackOff")
	})
	t.Run("liveness", func(t *testing.T) {
		waitPod(t, "live", "restarted by its liveness probe", func(p *corev1.Pod) bool {
			cs := p.Status.ContainerStatuses
			return len(cs) == 1 && cs[0].RestartCount >= 1
		})
		waitEvent(t, n, "live", "Unhealthy", "Liveness probe failed")
		waitEvent(t, n, "live", "Killing", "Container main failed liveness probe, will be restarted")
	})
	t.Run("init containers", func(t *testing.T) {
		p := waitPod(t, "init", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
		if m := message(p); m != "one\ntwo" {
			t.Errorf("message %q", m)
		}
		for _, cs := range p.Status.InitContainerStatuses {
			if cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 0 {
				t.Errorf("init container %s: %+v", cs.Name, cs.State)
			}
		}
	})
	t.Run("activeDeadlineSeconds", func(t *testing.T) {
		p := waitPod(t, "deadline", "Failed with DeadlineExceeded", func(p *corev1.Pod) bool {
			return p.Status.Phase == corev1.PodFailed && p.Status.Reason == "DeadlineExceeded"
		})
		if cs := p.Status.ContainerStatuses; len(cs) != 1 || cs[0].State.Terminated == nil {
			t.Errorf("container not stopped: %s", describe([]corev1.Pod{*p}))
		}
	})
	t.Run("postStart hook", func(t *testing.T) {
		p := waitPod(t, "hooked", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
		if m := message(p); m != "from postStart" {
			t.Errorf("message %q", m)
		}
	})
	testUpdates(t, n, waitPod)
	t.Run("kubelet restart adopts running containers", func(t *testing.T) {
		// Every pod whose containers run steadily keeps them.
		steady := map[string]string{}
		for _, name := range []string{"sleeper", "late", "watched", "unmounted", "closed"} {
			p := waitPod(t, name, "Running", func(p *corev1.Pod) bool {
				cs := p.Status.ContainerStatuses
				return p.Status.Phase == corev1.PodRunning && len(cs) == 1 && cs[0].State.Running != nil
			})
			steady[name] = p.Status.ContainerStatuses[0].ContainerID
		}
		n.stop()
		n.start(t)
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			for name, id := range steady {
				p, err := get(ctx, name)
				if err != nil {
					t.Fatal(err)
				}
				cs := p.Status.ContainerStatuses
				if len(cs) != 1 || cs[0].ContainerID != id || cs[0].RestartCount != 0 || cs[0].State.Running == nil {
					t.Fatalf("after the restart: %s (was %s)", describe([]corev1.Pod{*p}), id)
				}
				if name == "sleeper" && !isReady(p) {
					t.Fatalf("sleeper not Ready after the restart")
				}
			}
			time.Sleep(500 * time.Millisecond)
		}
	})
}

// waitEvent waits for an event of the pod (events reach the API a moment
// after what they tell of).
func waitEvent(t *testing.T, n *node, pod, reason, substr string) {
	t.Helper()
	var evs map[string]string
	until(t, pod+": event "+reason, 20*time.Second, func(ctx context.Context) (bool, error) {
		var err error
		evs, err = n.events(ctx, "default", pod)
		if err == nil && !strings.Contains(evs[reason], substr) {
			return false, fmt.Errorf("events %v", evs)
		}
		return err == nil, err
	})
}
