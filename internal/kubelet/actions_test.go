package kubelet

import (
	"reflect"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/utils/ptr"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func testPod(policy corev1.RestartPolicy, inits []corev1.Container, names ...string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "u1"},
		Spec:       corev1.PodSpec{RestartPolicy: policy, InitContainers: inits},
	}
	for _, n := range names {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: n, Image: "img"})
	}
	return p
}

func sandbox(id string, attempt uint32, ready bool, created int64) *runtimeapi.PodSandboxStatus {
	st := runtimeapi.PodSandboxState_SANDBOX_NOTREADY
	if ready {
		st = runtimeapi.PodSandboxState_SANDBOX_READY
	}
	return &runtimeapi.PodSandboxStatus{Id: id, State: st, CreatedAt: created, Metadata: &runtimeapi.PodSandboxMetadata{Attempt: attempt}}
}

// ctr is a container in sandbox sb: state "running", "created" or an
// exit code; finished is when it exited.
func ctr(pod *corev1.Pod, id, name, state string, created int64, restarts int, finished time.Time) *runtimeapi.ContainerStatus {
	cs := &runtimeapi.ContainerStatus{Id: id, Metadata: &runtimeapi.ContainerMetadata{Name: name}, CreatedAt: created,
		Annotations: map[string]string{annotationRestartCount: strconv.Itoa(restarts)}}
	for _, c := range append(append([]corev1.Container(nil), pod.Spec.InitContainers...), pod.Spec.Containers...) {
		if c.Name == name {
			cs.Annotations[annotationHash] = containerHash(&c)
		}
	}
	switch state {
	case "running":
		cs.State = runtimeapi.ContainerState_CONTAINER_RUNNING
	case "created":
		cs.State = runtimeapi.ContainerState_CONTAINER_CREATED
	default:
		cs.State = runtimeapi.ContainerState_CONTAINER_EXITED
		code, _ := strconv.Atoi(state)
		cs.ExitCode = int32(code)
		cs.FinishedAt = finished.UnixNano()
	}
	return cs
}

// summary is an Actions in words, for readable tables.
type summary struct {
	KillPod, Create, Done bool
	Attempt               uint32
	Kill, Start, Wait     []string
}

func summarize(a Actions) summary {
	s := summary{KillPod: a.KillPod, Create: a.CreateSandbox, Done: a.Done, Attempt: a.SandboxAttempt}
	for _, k := range a.Kill {
		s.Kill = append(s.Kill, k.Name)
	}
	for _, st := range a.Start {
		s.Start = append(s.Start, st.Container.Name+"#"+strconv.Itoa(int(st.RestartCount)))
	}
	for _, w := range a.Wait {
		s.Wait = append(s.Wait, w.Name+"@"+w.Delay.String())
	}
	return s
}

func TestComputeActions(t *testing.T) {
	always := testPod(corev1.RestartPolicyAlways, nil, "app", "side")
	never := testPod(corev1.RestartPolicyNever, nil, "job")
	onFailure := testPod(corev1.RestartPolicyOnFailure, nil, "job")
	withInit := testPod(corev1.RestartPolicyAlways, []corev1.Container{{Name: "init1"}, {Name: "init2"}}, "app")
	withSidecar := testPod(corev1.RestartPolicyAlways, []corev1.Container{
		{Name: "proxy", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways), StartupProbe: &corev1.Probe{}},
		{Name: "migrate"}}, "app")
	neverInit := testPod(corev1.RestartPolicyNever, []corev1.Container{{Name: "init1"}}, "app")
	pastDeadline := always.DeepCopy()
	pastDeadline.Spec.ActiveDeadlineSeconds = ptr.To[int64](30)
	pastDeadline.Status.StartTime = &metav1.Time{Time: t0.Add(-31 * time.Second)}
	beforeDeadline := pastDeadline.DeepCopy()
	beforeDeadline.Status.StartTime = &metav1.Time{Time: t0.Add(-29 * time.Second)}
	deleting := always.DeepCopy()
	deleting.DeletionTimestamp = &metav1.Time{Time: t0}
	changed := always.DeepCopy()
	changed.Spec.Containers[0].Image = "img:2"

	sb := sandbox("sb1", 0, true, 1)
	tests := []struct {
		name      string
		pod       *corev1.Pod
		sandboxes []*runtimeapi.PodSandboxStatus
		ctrs      func(p *corev1.Pod) []*runtimeapi.ContainerStatus
		unhealthy map[string]string
		started   map[string]bool
		backoff   map[string]time.Duration
		want      summary
	}{
		{name: "new pod: sandbox, then every container", pod: always,
			want: summary{Create: true, Start: []string{"app#0", "side#0"}}},
		{name: "new pod with init containers: only the first", pod: withInit,
			want: summary{Create: true, Start: []string{"init1#0"}}},
		{name: "all running: nothing to do", pod: always, sandboxes: []*runtimeapi.PodSandboxStatus{sb},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "c1", "app", "running", 2, 0, t0), ctr(p, "c2", "side", "running", 2, 0, t0)}
			}},
		{name: "one missing is started", pod: always, sandboxes: []*runtimeapi.PodSandboxStatus{sb},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "c1", "app", "running", 2, 0, t0)}
			},
			want: summary{Start: []string{"side#0"}}},
		{name: "first crash restarts at once", pod: always, sandboxes: []*runtimeapi.PodSandboxStatus{sb},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "c1", "app", "1", 2, 0, t0), ctr(p, "c2", "side", "running", 2, 0, t0)}
			},
			want: summary{Start: []string{"app#1"}}},
		{name: "crash inside the back-off waits", pod: always, sandboxes: []*runtimeapi.PodSandboxStatus{sb},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "c3", "app", "1", 3, 1, t0.Add(-5*time.Second)), ctr(p, "c1", "app", "1", 2, 0, t0), ctr(p, "c2", "side", "running", 2, 0, t0)}
			},
			backoff: map[string]time.Duration{"app": 10 * time.Second},
			want:    summary{Wait: []string{"app@10s"}}},
		{name: "crash after the back-off restarts", pod: always, sandboxes: []*runtimeapi.PodSandboxStatus{sb},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "c3", "app", "1", 3, 1, t0.Add(-11*time.Second)), ctr(p, "c2", "side", "running", 2, 0, t0)}
			},
			backoff: map[string]time.Duration{"app": 10 * time.Second},
			want:    summary{Start: []string{"app#2"}}},
		{name: "Always restarts a container that succeeded", pod: always, sandboxes: []*runtimeapi.PodSandboxStatus{sb},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "c1", "app", "0", 2, 0, t0), ctr(p, "c2", "side", "running", 2, 0, t0)}
			},
			want: summary{Start: []string{"app#1"}}},
		{name: "OnFailure: success is the end, sandbox stopped", pod: onFailure, sandboxes: []*runtimeapi.PodSandboxStatus{sb},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "c1", "job", "0", 2, 0, t0)}
			},
			want: summary{KillPod: true, Done: true}},
		{name: "OnFailure: failure restarts", pod: onFailure, sandboxes: []*runtimeapi.PodSandboxStatus{sb},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "c1", "job", "2", 2, 0, t0)}
			},
			want: summary{Start: []string{"job#1"}}},
		{name: "Never: failure is the end", pod: never, sandboxes: []*runtimeapi.PodSandboxStatus{sb},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "c1", "job", "2", 2, 0, t0)}
			},
			want: summary{KillPod: true, Done: true}},
		{name: "Never: a finished pod whose sandbox stopped gets no new sandbox", pod: never,
			sandboxes: []*runtimeapi.PodSandboxStatus{sandbox("sb1", 0, false, 1)},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "c1", "job", "0", 2, 0, t0)}
			},
			want: summary{Done: true, Attempt: 1}},
		{name: "Always: a sandbox that died is made anew, the pod killed first", pod: always,
			sandboxes: []*runtimeapi.PodSandboxStatus{sandbox("sb1", 0, false, 1)},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "c1", "app", "running", 2, 0, t0), ctr(p, "c2", "side", "137", 2, 0, t0)}
			},
			want: summary{KillPod: true, Create: true, Attempt: 1, Start: []string{"app#1", "side#1"}}},
		{name: "init containers run in order", pod: withInit, sandboxes: []*runtimeapi.PodSandboxStatus{sb},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "i1", "init1", "0", 2, 0, t0)}
			},
			want: summary{Start: []string{"init2#0"}}},
		{name: "a running init container is waited for", pod: withInit, sandboxes: []*runtimeapi.PodSandboxStatus{sb},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "i2", "init2", "running", 3, 0, t0), ctr(p, "i1", "init1", "0", 2, 0, t0)}
			}},
		{name: "after the init containers, the containers", pod: withInit, sandboxes: []*runtimeapi.PodSandboxStatus{sb},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "i2", "init2", "0", 3, 0, t0), ctr(p, "i1", "init1", "0", 2, 0, t0)}
			},
			want: summary{Start: []string{"app#0"}}},
		{name: "a failed init container is retried (Always)", pod: withInit, sandboxes: []*runtimeapi.PodSandboxStatus{sb},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "i1", "init1", "1", 2, 0, t0)}
			},
			want: summary{Start: []string{"init1#1"}}},
		{name: "a failed init container fails the pod (Never)", pod: neverInit, sandboxes: []*runtimeapi.PodSandboxStatus{sb},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "i1", "init1", "1", 2, 0, t0)}
			},
			want: summary{KillPod: true, Done: true}},
		{name: "a sidecar not yet started holds the next init container", pod: withSidecar, sandboxes: []*runtimeapi.PodSandboxStatus{sb},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "s1", "proxy", "running", 2, 0, t0)}
			}},
		{name: "a started sidecar lets the next init container run", pod: withSidecar, sandboxes: []*runtimeapi.PodSandboxStatus{sb},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "s1", "proxy", "running", 2, 0, t0)}
			},
			started: map[string]bool{"s1": true},
			want:    summary{Start: []string{"migrate#0"}}},
		{name: "a sidecar that exited is restarted", pod: withSidecar, sandboxes: []*runtimeapi.PodSandboxStatus{sb},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "a1", "app", "running", 4, 0, t0), ctr(p, "m1", "migrate", "0", 3, 0, t0), ctr(p, "s1", "proxy", "1", 2, 0, t0)}
			},
			want: summary{Start: []string{"proxy#1"}}},
		{name: "sidecars are stopped when the containers are done", pod: func() *corev1.Pod {
			p := withSidecar.DeepCopy()
			p.Spec.RestartPolicy = corev1.RestartPolicyNever
			return p
		}(), sandboxes: []*runtimeapi.PodSandboxStatus{sb},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "a1", "app", "0", 4, 0, t0), ctr(p, "m1", "migrate", "0", 3, 0, t0), ctr(p, "s1", "proxy", "running", 2, 0, t0)}
			},
			started: map[string]bool{"s1": true},
			want:    summary{KillPod: true, Done: true}},
		{name: "liveness failure kills and restarts", pod: always, sandboxes: []*runtimeapi.PodSandboxStatus{sb},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "c1", "app", "running", 2, 0, t0), ctr(p, "c2", "side", "running", 2, 0, t0)}
			},
			unhealthy: map[string]string{"c1": "Container app failed liveness probe, will be restarted"},
			want:      summary{Kill: []string{"app"}, Start: []string{"app#1"}}},
		{name: "a changed spec restarts the container", pod: changed, sandboxes: []*runtimeapi.PodSandboxStatus{sb},
			ctrs: func(_ *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(always, "c1", "app", "running", 2, 0, t0), ctr(always, "c2", "side", "running", 2, 0, t0)}
			},
			want: summary{Kill: []string{"app"}, Start: []string{"app#1"}}},
		{name: "a container started by an older kemudi (its hash covers resources) keeps running", pod: always, sandboxes: []*runtimeapi.PodSandboxStatus{sb},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				c1 := ctr(p, "c1", "app", "running", 2, 0, t0)
				c1.Annotations[annotationHash] = legacyContainerHash(&p.Spec.Containers[0])
				return []*runtimeapi.ContainerStatus{c1, ctr(p, "c2", "side", "running", 2, 0, t0)}
			}},
		{name: "a container never started is replaced", pod: always, sandboxes: []*runtimeapi.PodSandboxStatus{sb},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "c1", "app", "created", 2, 0, t0), ctr(p, "c2", "side", "running", 2, 0, t0)}
			},
			want: summary{Kill: []string{"app"}, Start: []string{"app#1"}}},
		{name: "a container whose start failed waits out the back-off", pod: always, sandboxes: []*runtimeapi.PodSandboxStatus{sb},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				c := ctr(p, "c1", "app", "created", t0.Add(-time.Second).UnixNano(), 0, t0)
				return []*runtimeapi.ContainerStatus{c, ctr(p, "c2", "side", "running", 2, 0, t0)}
			},
			backoff: map[string]time.Duration{"app": 10 * time.Second},
			want:    summary{Kill: []string{"app"}, Wait: []string{"app@10s"}}},
		{name: "activeDeadlineSeconds passed: the pod is killed", pod: pastDeadline, sandboxes: []*runtimeapi.PodSandboxStatus{sb},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "c1", "app", "running", 2, 0, t0), ctr(p, "c2", "side", "running", 2, 0, t0)}
			},
			want: summary{KillPod: true, Done: true}},
		{name: "activeDeadlineSeconds not yet passed", pod: beforeDeadline, sandboxes: []*runtimeapi.PodSandboxStatus{sb},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "c1", "app", "running", 2, 0, t0), ctr(p, "c2", "side", "running", 2, 0, t0)}
			}},
		{name: "deletion kills the pod", pod: deleting, sandboxes: []*runtimeapi.PodSandboxStatus{sb},
			ctrs: func(p *corev1.Pod) []*runtimeapi.ContainerStatus {
				return []*runtimeapi.ContainerStatus{ctr(p, "c1", "app", "running", 2, 0, t0)}
			},
			want: summary{KillPod: true, Done: true}},
		{name: "deletion of a pod already stopped does nothing", pod: deleting, sandboxes: []*runtimeapi.PodSandboxStatus{sandbox("sb1", 0, false, 1)},
			want: summary{Done: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := PodState{Sandboxes: tc.sandboxes, SandboxOf: map[string]string{}}
			if tc.ctrs != nil {
				st.Containers = tc.ctrs(tc.pod)
				for _, c := range st.Containers {
					st.SandboxOf[c.Id] = "sb1"
				}
			}
			got := summarize(ComputeActions(ActionInput{Pod: tc.pod, State: st, Unhealthy: tc.unhealthy, Started: tc.started, Backoff: tc.backoff, Now: t0}))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
