package kubelet

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/kubectl/pkg/util/qos"
	"k8s.io/utils/ptr"
)

// Reason is why a container waits, as the worker last saw it
// (ErrImagePull, ImagePullBackOff, CrashLoopBackOff, CreateContainerConfigError...).
type Reason struct{ Reason, Message string }

// StatusInput is what a pod's status is computed from.
type StatusInput struct {
	Pod   *corev1.Pod // with the status last written
	State PodState
	// Ready and Started hold the readiness and startup probe results by
	// container ID (containers without the probe need not be listed).
	Ready, Started map[string]bool
	// Waiting is the worker's reason for a container not running, by name.
	Waiting map[string]Reason
	// Messages are termination messages read by the worker, by container ID.
	Messages map[string]string
	HostIPs  []string
	// RuntimeName prefixes container IDs ("containerd://...").
	RuntimeName string
	// Done: the pod will run nothing again (Actions.Done) and nothing runs.
	Done bool
	// DeadlineExceeded: killed for its activeDeadlineSeconds.
	DeadlineExceeded bool
	Now              time.Time
	// Allocated is Pod with the resources the node allocated it (nil:
	// the spec's); Resize are the conditions of its in-place resize
	// (PodResizePending, PodResizeInProgress), if one is pending.
	Allocated *corev1.Pod
	Resize    []corev1.PodCondition
}

// ComputeStatus is the pod status upstream's kubelet would report. It
// does no I/O.
func ComputeStatus(in StatusInput) corev1.PodStatus {
	pod := in.Pod
	old := pod.Status
	st := corev1.PodStatus{
		Message: old.Message, Reason: old.Reason, NominatedNodeName: old.NominatedNodeName,
		StartTime: old.StartTime, QOSClass: qos.GetPodQOS(pod), ObservedGeneration: pod.Generation,
	}
	if in.Allocated == nil {
		in.Allocated = pod
	}
	if st.StartTime == nil {
		st.StartTime = &metav1.Time{Time: in.Now}
	}
	for _, ip := range in.HostIPs {
		st.HostIPs = append(st.HostIPs, corev1.HostIP{IP: ip})
	}
	if len(in.HostIPs) > 0 {
		st.HostIP = in.HostIPs[0]
	}
	st.PodIPs = podIPs(in, old)
	if len(st.PodIPs) > 0 {
		st.PodIP = st.PodIPs[0].IP
	}
	initializing := len(pod.Spec.InitContainers) > 0
	for i := range pod.Spec.InitContainers {
		s := containerStatus(in, &pod.Spec.InitContainers[i], true, initializing)
		st.InitContainerStatuses = append(st.InitContainerStatuses, withResources(s, in, &pod.Spec.InitContainers[i]))
	}
	for i := range pod.Spec.Containers {
		s := containerStatus(in, &pod.Spec.Containers[i], false, initializing)
		st.ContainerStatuses = append(st.ContainerStatuses, withResources(s, in, &pod.Spec.Containers[i]))
	}
	sort.Slice(st.ContainerStatuses, func(i, j int) bool { return st.ContainerStatuses[i].Name < st.ContainerStatuses[j].Name })
	st.EphemeralContainerStatuses = ephemeralStatuses(in, initializing)
	st.Phase = phase(pod, st, in.Done)
	if in.DeadlineExceeded {
		st.Phase, st.Reason, st.Message = corev1.PodFailed, "DeadlineExceeded", deadlineMessage
	}
	if old.Phase == corev1.PodSucceeded || old.Phase == corev1.PodFailed {
		st.Phase = old.Phase
	}
	st.Conditions = conditions(in, st)
	return st
}

func podIPs(in StatusInput, old corev1.PodStatus) []corev1.PodIP {
	if in.Pod.Spec.HostNetwork {
		var out []corev1.PodIP
		for _, ip := range in.HostIPs {
			out = append(out, corev1.PodIP{IP: ip})
		}
		return out
	}
	sb := in.State.readySandbox()
	if sb == nil || sb.Network == nil || sb.Network.Ip == "" {
		return old.PodIPs
	}
	out := []corev1.PodIP{{IP: sb.Network.Ip}}
	for _, ip := range sb.Network.AdditionalIps {
		out = append(out, corev1.PodIP{IP: ip.Ip})
	}
	return out
}

func terminated(in StatusInput, cs *runtimeapi.ContainerStatus) *corev1.ContainerStateTerminated {
	reason := cs.Reason
	if reason == "" {
		reason = "Error"
		if cs.ExitCode == 0 {
			reason = "Completed"
		}
	}
	msg := cs.Message
	if m, ok := in.Messages[cs.Id]; ok {
		msg = m
	}
	return &corev1.ContainerStateTerminated{
		ExitCode: cs.ExitCode, Reason: reason, Message: msg,
		StartedAt:   metav1.Time{Time: time.Unix(0, cs.StartedAt)},
		FinishedAt:  metav1.Time{Time: time.Unix(0, cs.FinishedAt)},
		ContainerID: in.RuntimeName + "://" + cs.Id,
	}
}

func containerStatus(in StatusInput, c *corev1.Container, init, initializing bool) corev1.ContainerStatus {
	s := corev1.ContainerStatus{Name: c.Name, Image: c.Image, Started: ptr.To(false)}
	latest := in.State.latest(c.Name, "")
	wait, hasWait := in.Waiting[c.Name]
	if latest == nil {
		reason := "ContainerCreating"
		if initializing {
			reason = "PodInitializing"
		}
		s.State.Waiting = &corev1.ContainerStateWaiting{Reason: reason}
		if hasWait {
			s.State.Waiting = &corev1.ContainerStateWaiting{Reason: wait.Reason, Message: wait.Message}
		}
		if init {
			s.Started = nil
		}
		return s
	}
	s.ContainerID = in.RuntimeName + "://" + latest.Id
	s.ImageID = latest.ImageRef
	s.RestartCount = restartCount(latest)
	if prev := in.State.previous(c.Name); exited(prev) {
		s.LastTerminationState.Terminated = terminated(in, prev)
	}
	switch latest.State {
	case runtimeapi.ContainerState_CONTAINER_RUNNING:
		s.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.Time{Time: time.Unix(0, latest.StartedAt)}}
		s.Started = ptr.To(c.StartupProbe == nil || in.Started[latest.Id])
		s.Ready = *s.Started && (c.ReadinessProbe == nil || in.Ready[latest.Id])
		if init && !isSidecar(c) {
			s.Ready = false
		}
	case runtimeapi.ContainerState_CONTAINER_EXITED:
		t := terminated(in, latest)
		if hasWait {
			// Exited and waiting to start again: the exit is the last state.
			s.State.Waiting = &corev1.ContainerStateWaiting{Reason: wait.Reason, Message: wait.Message}
			s.LastTerminationState = corev1.ContainerState{Terminated: t}
		} else {
			s.State.Terminated = t
		}
		s.Ready = init && !isSidecar(c) && latest.ExitCode == 0
	default:
		s.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
		if hasWait {
			s.State.Waiting = &corev1.ContainerStateWaiting{Reason: wait.Reason, Message: wait.Message}
		}
	}
	if init && !isSidecar(c) {
		s.Started = ptr.To(latest.State == runtimeapi.ContainerState_CONTAINER_RUNNING)
	}
	return s
}

// withResources adds what a container was allocated and, running, what
// it has (for a resize to be judged by).
func withResources(s corev1.ContainerStatus, in StatusInput, c *corev1.Container) corev1.ContainerStatus {
	allocated := c
	if a := specOf(in.Allocated, c.Name); a != nil {
		allocated = a
	}
	if len(allocated.Resources.Requests) > 0 {
		s.AllocatedResources = allocated.Resources.Requests.DeepCopy()
	}
	if s.State.Running != nil {
		if cs := in.State.latest(allocated.Name, ""); cs != nil {
			s.Resources = actualResources(allocated, cs)
		}
	}
	return s
}

// phase is upstream's getPhase.
func phase(pod *corev1.Pod, st corev1.PodStatus, done bool) corev1.PodPhase {
	pendingInit, failedInit := 0, 0
	for i, c := range pod.Spec.InitContainers {
		cs := st.InitContainerStatuses[i]
		if isSidecar(&c) {
			if cs.State.Running == nil {
				pendingInit++
			}
			continue
		}
		switch {
		case cs.State.Running != nil:
			pendingInit++
		case cs.State.Terminated != nil:
			if cs.State.Terminated.ExitCode != 0 {
				failedInit++
			}
		case cs.LastTerminationState.Terminated != nil:
			if cs.LastTerminationState.Terminated.ExitCode != 0 {
				failedInit++
			}
		default:
			pendingInit++
		}
	}
	var running, waiting, stopped, succeeded int
	for _, cs := range st.ContainerStatuses {
		switch {
		case cs.State.Running != nil:
			running++
		case cs.State.Terminated != nil:
			stopped++
			if cs.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case cs.LastTerminationState.Terminated != nil:
			stopped++
		default:
			waiting++
		}
	}
	if failedInit > 0 && pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
		return corev1.PodFailed
	}
	switch {
	case done && running == 0 && (stopped > 0 || pod.DeletionTimestamp != nil):
		if stopped == succeeded && stopped == len(pod.Spec.Containers) {
			return corev1.PodSucceeded
		}
		return corev1.PodFailed
	case pendingInit > 0 && running == 0 && stopped == 0:
		return corev1.PodPending
	case waiting > 0:
		return corev1.PodPending
	case running > 0:
		return corev1.PodRunning
	case stopped > 0:
		switch {
		case pod.Spec.RestartPolicy == corev1.RestartPolicyAlways:
			return corev1.PodRunning
		case stopped == succeeded:
			return corev1.PodSucceeded
		case pod.Spec.RestartPolicy == corev1.RestartPolicyNever:
			return corev1.PodFailed
		}
		return corev1.PodRunning
	}
	return corev1.PodPending
}

// conditions are the kubelet's four pod conditions, after the others
// (PodScheduled, readiness gates' own) kept as they are.
func conditions(in StatusInput, st corev1.PodStatus) []corev1.PodCondition {
	pod := in.Pod
	var out []corev1.PodCondition
	mine := map[corev1.PodConditionType]bool{corev1.PodReadyToStartContainers: true, corev1.PodInitialized: true, corev1.ContainersReady: true, corev1.PodReady: true,
		corev1.PodResizePending: true, corev1.PodResizeInProgress: true}
	for _, c := range pod.Status.Conditions {
		if !mine[c.Type] {
			out = append(out, c)
		}
	}
	cond := func(t corev1.PodConditionType, ok bool, reason, msg string) corev1.PodCondition {
		c := corev1.PodCondition{Type: t, Status: corev1.ConditionFalse, Reason: reason, Message: msg, LastTransitionTime: metav1.Time{Time: in.Now},
			ObservedGeneration: pod.Generation}
		if ok {
			c.Status, c.Reason, c.Message = corev1.ConditionTrue, "", ""
		}
		for _, o := range pod.Status.Conditions {
			if o.Type == t && o.Status == c.Status {
				c.LastTransitionTime = o.LastTransitionTime
			}
		}
		return c
	}
	sbReady := in.State.readySandbox() != nil
	out = append(out, cond(corev1.PodReadyToStartContainers, sbReady, "", ""))

	var incomplete []string
	anyRegularRan := false
	for _, cs := range st.ContainerStatuses {
		if cs.ContainerID != "" {
			anyRegularRan = true
		}
	}
	for i, c := range pod.Spec.InitContainers {
		cs := st.InitContainerStatuses[i]
		if isSidecar(&c) {
			if cs.Started == nil || !*cs.Started {
				incomplete = append(incomplete, c.Name)
			}
		} else if cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 0 {
			incomplete = append(incomplete, c.Name)
		}
	}
	initialized := len(incomplete) == 0 || anyRegularRan
	out = append(out, cond(corev1.PodInitialized, initialized, "ContainersNotInitialized",
		fmt.Sprintf("containers with incomplete status: [%s]", strings.Join(incomplete, " "))))

	var unready []string
	for i, c := range pod.Spec.InitContainers {
		if isSidecar(&c) && !st.InitContainerStatuses[i].Ready {
			unready = append(unready, c.Name)
		}
	}
	for _, c := range pod.Spec.Containers {
		for _, cs := range st.ContainerStatuses {
			if cs.Name == c.Name && !cs.Ready {
				unready = append(unready, c.Name)
			}
		}
	}
	reason, msg := "ContainersNotReady", fmt.Sprintf("containers with unready status: [%s]", strings.Join(unready, " "))
	if st.Phase == corev1.PodSucceeded || st.Phase == corev1.PodFailed {
		reason = "PodCompleted"
		msg = ""
	}
	containersReady := initialized && len(unready) == 0 && reason != "PodCompleted"
	out = append(out, cond(corev1.ContainersReady, containersReady, reason, msg))

	readyReason, readyMsg := reason, msg
	var gateMsgs []string
	for _, g := range pod.Spec.ReadinessGates {
		var found *corev1.PodCondition
		for i := range pod.Status.Conditions {
			if pod.Status.Conditions[i].Type == g.ConditionType {
				found = &pod.Status.Conditions[i]
			}
		}
		switch {
		case found == nil:
			gateMsgs = append(gateMsgs, fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", g.ConditionType))
		case found.Status != corev1.ConditionTrue:
			gateMsgs = append(gateMsgs, fmt.Sprintf("the status of pod readiness gate %q is not \"True\", but %v", g.ConditionType, found.Status))
		}
	}
	ready := containersReady && len(gateMsgs) == 0
	if containersReady && len(gateMsgs) > 0 {
		readyReason, readyMsg = "ReadinessGatesNotReady", strings.Join(gateMsgs, ", ")
	}
	out = append(out, cond(corev1.PodReady, ready, readyReason, readyMsg))
	return append(out, in.Resize...)
}
