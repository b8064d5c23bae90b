package kubelet

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// withDebugger is pod p with ephemeral containers named names, each
// targeting target ("" = none).
func withDebugger(p *corev1.Pod, target string, names ...string) *corev1.Pod {
	p = p.DeepCopy()
	for _, n := range names {
		p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, corev1.EphemeralContainer{
			EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: n, Image: "busybox"},
			TargetContainerName:      target,
		})
	}
	return p
}

func TestComputeActionsEphemeral(t *testing.T) {
	always := testPod(corev1.RestartPolicyAlways, nil, "app")
	never := testPod(corev1.RestartPolicyNever, nil, "job")
	withInit := testPod(corev1.RestartPolicyAlways, []corev1.Container{{Name: "init1"}}, "app")
	debugged := withDebugger(always, "", "debugger-1")
	targeted := withDebugger(always, "app", "debugger-1")
	sb := sandbox("sb1", 0, true, 1)
	running := func(p *corev1.Pod, extra ...*runtimeapi.ContainerStatus) []*runtimeapi.ContainerStatus {
		return append(extra, ctr(p, "c1", "app", "running", 2, 0, t0))
	}
	type eph struct{ Name, Target, TargetID string }
	tests := []struct {
		name      string
		pod       *corev1.Pod
		sandboxes []*runtimeapi.PodSandboxStatus
		ctrs      []*runtimeapi.ContainerStatus
		want      summary
		wantEph   []eph
	}{
		{name: "a new ephemeral container starts beside the running ones", pod: debugged,
			sandboxes: []*runtimeapi.PodSandboxStatus{sb}, ctrs: running(debugged),
			want: summary{Start: []string{"debugger-1#0"}}, wantEph: []eph{{Name: "debugger-1"}}},
		{name: "its target is the target's running instance", pod: targeted,
			sandboxes: []*runtimeapi.PodSandboxStatus{sb}, ctrs: running(targeted),
			want: summary{Start: []string{"debugger-1#0"}}, wantEph: []eph{{Name: "debugger-1", Target: "app", TargetID: "c1"}}},
		{name: "a target that never ran: no ID, the worker reports it", pod: withDebugger(withInit, "app", "debugger-1"),
			sandboxes: []*runtimeapi.PodSandboxStatus{sb},
			ctrs:      []*runtimeapi.ContainerStatus{ctr(withInit, "i1", "init1", "running", 2, 0, t0)},
			want:      summary{Start: []string{"debugger-1#0"}}, wantEph: []eph{{Name: "debugger-1", Target: "app"}}},
		{name: "it starts while an init container runs (to debug it)", pod: withDebugger(withInit, "", "debugger-1"),
			sandboxes: []*runtimeapi.PodSandboxStatus{sb},
			ctrs:      []*runtimeapi.ContainerStatus{ctr(withInit, "i1", "init1", "running", 2, 0, t0)},
			want:      summary{Start: []string{"debugger-1#0"}}, wantEph: []eph{{Name: "debugger-1"}}},
		{name: "a running one is left alone", pod: debugged, sandboxes: []*runtimeapi.PodSandboxStatus{sb},
			ctrs: running(debugged, ctr(debugged, "e1", "debugger-1", "running", 3, 0, t0))},
		{name: "an exited one is never restarted, whatever its exit", pod: debugged, sandboxes: []*runtimeapi.PodSandboxStatus{sb},
			ctrs: running(debugged, ctr(debugged, "e1", "debugger-1", "137", 3, 0, t0))},
		{name: "one that never started is not started again", pod: debugged, sandboxes: []*runtimeapi.PodSandboxStatus{sb},
			ctrs: running(debugged, ctr(debugged, "e1", "debugger-1", "created", 3, 0, t0))},
		{name: "only the new one of two starts", pod: withDebugger(always, "", "debugger-1", "debugger-2"), sandboxes: []*runtimeapi.PodSandboxStatus{sb},
			ctrs: running(always, ctr(always, "e1", "debugger-1", "0", 3, 0, t0)),
			want: summary{Start: []string{"debugger-2#0"}}, wantEph: []eph{{Name: "debugger-2"}}},
		{name: "it runs in the pod's sandbox only: a new sandbox does not start it", pod: debugged,
			want: summary{Create: true, Start: []string{"app#0"}}},
		{name: "a new sandbox does not restart one that ran in the old one", pod: debugged,
			sandboxes: []*runtimeapi.PodSandboxStatus{sandbox("sb1", 0, false, 1)},
			ctrs:      []*runtimeapi.ContainerStatus{ctr(debugged, "e1", "debugger-1", "0", 3, 0, t0), ctr(debugged, "c1", "app", "0", 2, 0, t0)},
			want:      summary{Create: true, Attempt: 1, Start: []string{"app#1"}}},
		{name: "a pod whose containers ended starts no debugger", pod: withDebugger(never, "", "debugger-1"),
			sandboxes: []*runtimeapi.PodSandboxStatus{sb}, ctrs: []*runtimeapi.ContainerStatus{ctr(never, "c1", "job", "0", 2, 0, t0)},
			want: summary{KillPod: true, Done: true}},
		{name: "a running debugger does not keep an ended pod alive", pod: withDebugger(never, "", "debugger-1"),
			sandboxes: []*runtimeapi.PodSandboxStatus{sb},
			ctrs:      []*runtimeapi.ContainerStatus{ctr(never, "e1", "debugger-1", "running", 3, 0, t0), ctr(never, "c1", "job", "0", 2, 0, t0)},
			want:      summary{KillPod: true, Done: true}},
		{name: "a deleted pod starts no debugger", pod: func() *corev1.Pod {
			p := debugged.DeepCopy()
			p.DeletionTimestamp = &never.CreationTimestamp
			return p
		}(), sandboxes: []*runtimeapi.PodSandboxStatus{sb}, ctrs: running(debugged),
			want: summary{KillPod: true, Done: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := PodState{Sandboxes: tc.sandboxes, SandboxOf: map[string]string{}, Containers: tc.ctrs}
			for _, c := range st.Containers {
				st.SandboxOf[c.Id] = "sb1"
			}
			a := ComputeActions(ActionInput{Pod: tc.pod, State: st, Now: t0})
			if got := summarize(a); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			var gotEph []eph
			for _, s := range a.Start {
				if s.Ephemeral {
					gotEph = append(gotEph, eph{s.Container.Name, s.Target, s.TargetID})
				}
			}
			if !reflect.DeepEqual(gotEph, tc.wantEph) {
				t.Errorf("ephemeral starts %+v, want %+v", gotEph, tc.wantEph)
			}
		})
	}
}

// ephemeralBrief is the ephemeral containers' statuses in words.
func ephemeralBrief(st corev1.PodStatus) string {
	var parts []string
	for _, cs := range st.EphemeralContainerStatuses {
		s := cs.Name + ":"
		switch {
		case cs.State.Running != nil:
			s += "Running"
		case cs.State.Terminated != nil:
			s += "Terminated/" + cs.State.Terminated.Reason
		case cs.State.Waiting != nil:
			s += "Waiting/" + cs.State.Waiting.Reason
		}
		if cs.Ready || cs.Started != nil || cs.RestartCount != 0 {
			s += ",ready/started/restarts set"
		}
		if cs.ContainerID != "" {
			s += "," + cs.ContainerID
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func TestComputeStatusEphemeral(t *testing.T) {
	pod := withDebugger(testPod(corev1.RestartPolicyAlways, nil, "app"), "app", "debugger-b", "debugger-a")
	sb := sandbox("sb1", 0, true, 1)
	tests := []struct {
		name      string
		ctrs      []*runtimeapi.ContainerStatus
		waiting   map[string]Reason
		want      string
		wantPhase corev1.PodPhase
	}{
		{name: "not yet made: ContainerCreating, sorted by name",
			ctrs: []*runtimeapi.ContainerStatus{ctr(pod, "c1", "app", "running", 2, 0, t0)},
			want: "debugger-a:Waiting/ContainerCreating debugger-b:Waiting/ContainerCreating", wantPhase: corev1.PodRunning},
		{name: "its image cannot be pulled",
			ctrs:    []*runtimeapi.ContainerStatus{ctr(pod, "c1", "app", "running", 2, 0, t0)},
			waiting: map[string]Reason{"debugger-a": {Reason: "ErrImagePull"}},
			want:    "debugger-a:Waiting/ErrImagePull debugger-b:Waiting/ContainerCreating", wantPhase: corev1.PodRunning},
		{name: "running, then terminated; never ready, no started flag",
			ctrs: []*runtimeapi.ContainerStatus{ctr(pod, "e1", "debugger-a", "running", 3, 0, t0), ctr(pod, "e2", "debugger-b", "0", 3, 0, t0),
				ctr(pod, "c1", "app", "running", 2, 0, t0)},
			want: "debugger-a:Running,kemudi://e1 debugger-b:Terminated/Completed,kemudi://e2", wantPhase: corev1.PodRunning},
		{name: "a failed debugger does not fail the pod",
			ctrs: []*runtimeapi.ContainerStatus{ctr(pod, "e1", "debugger-a", "1", 3, 0, t0), ctr(pod, "c1", "app", "running", 2, 0, t0)},
			want: "debugger-a:Terminated/Error,kemudi://e1 debugger-b:Waiting/ContainerCreating", wantPhase: corev1.PodRunning},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := PodState{Sandboxes: []*runtimeapi.PodSandboxStatus{sb}, SandboxOf: map[string]string{}, Containers: tc.ctrs}
			got := ComputeStatus(StatusInput{Pod: pod, State: st, Waiting: tc.waiting, RuntimeName: "kemudi", Now: t0})
			if b := ephemeralBrief(got); b != tc.want {
				t.Errorf("ephemeral statuses %q\nwant                %q", b, tc.want)
			}
			if got.Phase != tc.wantPhase {
				t.Errorf("phase %s, want %s", got.Phase, tc.wantPhase)
			}
			if len(got.ContainerStatuses) != 1 || !isPodReady(got) {
				t.Errorf("the debugger changed the pod's own statuses: %s", brief(got))
			}
		})
	}
}

func isPodReady(st corev1.PodStatus) bool {
	for _, c := range st.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
