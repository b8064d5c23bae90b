package kubelet

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// brief is a pod status in words: phase, conditions, then per
// container state/ready/restarts/last state.
func brief(st corev1.PodStatus) string {
	var b strings.Builder
	b.WriteString(string(st.Phase))
	for _, c := range st.Conditions {
		b.WriteString(" " + string(c.Type) + "=" + string(c.Status))
		if c.Status == corev1.ConditionFalse && c.Reason != "" {
			b.WriteString("(" + c.Reason + ")")
		}
	}
	for _, list := range [][]corev1.ContainerStatus{st.InitContainerStatuses, st.ContainerStatuses} {
		for _, cs := range list {
			b.WriteString(" | " + cs.Name + ":")
			switch {
			case cs.State.Running != nil:
				b.WriteString("Running")
			case cs.State.Terminated != nil:
				b.WriteString("Terminated/" + cs.State.Terminated.Reason)
			case cs.State.Waiting != nil:
				b.WriteString("Waiting/" + cs.State.Waiting.Reason)
			}
			if cs.Ready {
				b.WriteString(",ready")
			}
			if cs.RestartCount > 0 {
				b.WriteString(",restarts=" + string(rune('0'+cs.RestartCount)))
			}
			if t := cs.LastTerminationState.Terminated; t != nil {
				b.WriteString(",last=" + t.Reason)
			}
		}
	}
	return b.String()
}

func TestComputeStatus(t *testing.T) {
	web := testPod(corev1.RestartPolicyAlways, nil, "app")
	web.Spec.Containers[0].ReadinessProbe = &corev1.Probe{}
	job := testPod(corev1.RestartPolicyNever, nil, "job")
	withInit := testPod(corev1.RestartPolicyAlways, []corev1.Container{{Name: "init1"}}, "app")
	gated := testPod(corev1.RestartPolicyAlways, nil, "app")
	gated.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/lb"}}
	deleting := testPod(corev1.RestartPolicyAlways, nil, "app")
	deleting.DeletionTimestamp = &metav1.Time{Time: t0}

	ready := sandbox("sb1", 0, true, 1)
	ready.Network = &runtimeapi.PodSandboxNetworkStatus{Ip: "10.42.0.5"}
	tests := []struct {
		name    string
		pod     *corev1.Pod
		sbs     []*runtimeapi.PodSandboxStatus
		ctrs    func(p *corev1.Pod) []*runtimeapi.ContainerStatus
		ready   map[string]bool
		waiting map[string]Reason
		done    bool
		want    string
	}{
		{name: "nothing yet", pod: web,
			want: "Pending PodReadyToStartContainers=False Initialized=True ContainersReady=False(ContainersNotReady) Ready=False(ContainersNotReady) | app:Waiting/ContainerCreating"},
		{name: "image pull failing", pod: web, sbs: []*runtimeapi.PodSandboxStatus{ready}, waiting: map[string]Reason{"app": {Reason: "ImagePullBackOff"}},
			want: "Pending PodReadyToStartContainers=True Initialized=True ContainersReady=False(ContainersNotReady) Ready=False(ContainersNotReady) | app:Waiting/ImagePullBackOff"},
		{name: "running, readiness not yet passed", pod: web, sbs: []*runtimeapi.PodSandboxStatus{ready},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "c1", "app", "running", 2, 0, t0)}
			},
			want: "Running PodReadyToStartContainers=True Initialized=True ContainersReady=False(ContainersNotReady) Ready=False(ContainersNotReady) | app:Running"},
		{name: "running and ready", pod: web, sbs: []*runtimeapi.PodSandboxStatus{ready}, ready: map[string]bool{"c1": true},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "c1", "app", "running", 2, 0, t0)}
			},
			want: "Running PodReadyToStartContainers=True Initialized=True ContainersReady=True Ready=True | app:Running,ready"},
		{name: "crash loop", pod: web, sbs: []*runtimeapi.PodSandboxStatus{ready}, waiting: map[string]Reason{"app": {Reason: "CrashLoopBackOff"}},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "c2", "app", "1", 3, 1, t0), ctr(p, "c1", "app", "1", 2, 0, t0)}
			},
			want: "Running PodReadyToStartContainers=True Initialized=True ContainersReady=False(ContainersNotReady) Ready=False(ContainersNotReady) | app:Waiting/CrashLoopBackOff,restarts=1,last=Error"},
		{name: "restarted after a crash", pod: web, sbs: []*runtimeapi.PodSandboxStatus{ready}, ready: map[string]bool{"c2": true},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "c2", "app", "running", 3, 1, t0), ctr(p, "c1", "app", "137", 2, 0, t0)}
			},
			want: "Running PodReadyToStartContainers=True Initialized=True ContainersReady=True Ready=True | app:Running,ready,restarts=1,last=Error"},
		{name: "job succeeded", pod: job, sbs: []*runtimeapi.PodSandboxStatus{sandbox("sb1", 0, false, 1)}, done: true,
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "c1", "job", "0", 2, 0, t0)}
			},
			want: "Succeeded PodReadyToStartContainers=False Initialized=True ContainersReady=False(PodCompleted) Ready=False(PodCompleted) | job:Terminated/Completed"},
		{name: "job failed", pod: job, sbs: []*runtimeapi.PodSandboxStatus{ready},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "c1", "job", "3", 2, 0, t0)}
			},
			want: "Failed PodReadyToStartContainers=True Initialized=True ContainersReady=False(PodCompleted) Ready=False(PodCompleted) | job:Terminated/Error"},
		{name: "init container running", pod: withInit, sbs: []*runtimeapi.PodSandboxStatus{ready},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "i1", "init1", "running", 2, 0, t0)}
			},
			want: "Pending PodReadyToStartContainers=True Initialized=False(ContainersNotInitialized) ContainersReady=False(ContainersNotReady) Ready=False(ContainersNotReady) | init1:Running | app:Waiting/PodInitializing"},
		{name: "init done, app running", pod: withInit, sbs: []*runtimeapi.PodSandboxStatus{ready},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "a1", "app", "running", 3, 0, t0), ctr(p, "i1", "init1", "0", 2, 0, t0)}
			},
			want: "Running PodReadyToStartContainers=True Initialized=True ContainersReady=True Ready=True | init1:Terminated/Completed,ready | app:Running,ready"},
		{name: "readiness gate missing", pod: gated, sbs: []*runtimeapi.PodSandboxStatus{ready},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "c1", "app", "running", 2, 0, t0)}
			},
			want: "Running PodReadyToStartContainers=True Initialized=True ContainersReady=True Ready=False(ReadinessGatesNotReady) | app:Running,ready"},
		{name: "deleted and killed", pod: deleting, sbs: []*runtimeapi.PodSandboxStatus{sandbox("sb1", 0, false, 1)}, done: true,
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "c1", "app", "137", 2, 0, t0)}
			},
			want: "Failed PodReadyToStartContainers=False Initialized=True ContainersReady=False(PodCompleted) Ready=False(PodCompleted) | app:Terminated/Error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := PodState{Sandboxes: tc.sbs, SandboxOf: map[string]string{}}
			if tc.ctrs != nil {
				st.Containers = tc.ctrs(tc.pod)
			}
			got := ComputeStatus(StatusInput{Pod: tc.pod, State: st, Ready: tc.ready, Waiting: tc.waiting, Done: tc.done,
				HostIPs: []string{"10.99.0.2"}, RuntimeName: "containerd", Now: t0})
			if b := brief(got); b != tc.want {
				t.Errorf("got  %s\nwant %s", b, tc.want)
			}
			if got.HostIP != "10.99.0.2" || got.QOSClass != corev1.PodQOSBestEffort || got.StartTime == nil {
				t.Errorf("hostIP %q qos %q startTime %v", got.HostIP, got.QOSClass, got.StartTime)
			}
		})
	}
}

func TestComputeStatusDeadlineExceeded(t *testing.T) {
	pod := testPod(corev1.RestartPolicyAlways, nil, "app")
	st := PodState{Sandboxes: []*runtimeapi.PodSandboxStatus{sandbox("sb1", 0, false, 1)}, Containers: []*runtimeapi.ContainerStatus{ctr(pod, "c1", "app", "137", 2, 0, t0)}}
	got := ComputeStatus(StatusInput{Pod: pod, State: st, Done: true, DeadlineExceeded: true, Now: t0})
	if got.Phase != corev1.PodFailed || got.Reason != "DeadlineExceeded" || got.Message != deadlineMessage {
		t.Errorf("phase %s reason %q message %q", got.Phase, got.Reason, got.Message)
	}
}

func TestComputeStatusKeepsTransitionTimes(t *testing.T) {
	pod := testPod(corev1.RestartPolicyAlways, nil, "app")
	earlier := metav1.Time{Time: t0.Add(-time.Hour)}
	pod.Status.Conditions = []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: earlier},
		{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: earlier},
	}
	st := ComputeStatus(StatusInput{Pod: pod, Now: t0})
	for _, c := range st.Conditions {
		switch c.Type {
		case corev1.PodScheduled, corev1.PodReady:
			if !c.LastTransitionTime.Equal(&earlier) {
				t.Errorf("%s moved its transition time to %v", c.Type, c.LastTransitionTime)
			}
		}
	}
	if st.PodIP != "" {
		t.Errorf("pod IP %q without a sandbox", st.PodIP)
	}
}
