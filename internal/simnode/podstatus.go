package simnode

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Condition reasons, as upstream's kubelet writes them.
const (
	reasonPodCompleted           = "PodCompleted"
	reasonPodFailed              = "PodFailed"
	reasonReadinessGatesNotReady = "ReadinessGatesNotReady"
	reasonContainersNotReady     = "ContainersNotReady"
)

// runningStatus is the status of a pod whose containers all run: what a
// kubelet reports once a pod started. They are ready unless the pod is
// annotated not-ready. What the pod's status already
// holds is kept where it still holds (start time, transition times,
// conditions the kubelet does not own such as readiness gates and
// DisruptionTarget), so that the same pod gives the same status and an
// unchanged pod needs no write.
func runningStatus(pod *corev1.Pod, hostIP string, podIPs []string, now metav1.Time) corev1.PodStatus {
	old := &pod.Status
	st := corev1.PodStatus{
		Phase:                       corev1.PodRunning,
		ObservedGeneration:          pod.Generation,
		Conditions:                  append([]corev1.PodCondition(nil), old.Conditions...),
		HostIP:                      hostIP,
		HostIPs:                     []corev1.HostIP{{IP: hostIP}},
		NominatedNodeName:           old.NominatedNodeName,
		QOSClass:                    old.QOSClass,
		StartTime:                   old.StartTime,
		Resize:                      old.Resize,
		ResourceClaimStatuses:       old.ResourceClaimStatuses,
		ExtendedResourceClaimStatus: old.ExtendedResourceClaimStatus,
	}
	if st.StartTime == nil {
		st.StartTime = &now
	}
	for i, ip := range podIPs {
		if i == 0 {
			st.PodIP = ip
		}
		st.PodIPs = append(st.PodIPs, corev1.PodIP{IP: ip})
	}
	start := *st.StartTime
	ready := pod.Annotations[AnnotationNotReady] != "true"
	var unready []string
	for _, c := range pod.Spec.InitContainers {
		var cs corev1.ContainerStatus
		if isSidecar(&c) {
			cs = runningContainer(pod, &c, start, ready)
			if !ready {
				unready = append(unready, c.Name)
			}
		} else {
			cs = containerStatus(pod, &c)
			cs.Ready = true
			cs.State.Terminated = &corev1.ContainerStateTerminated{
				Reason: "Completed", StartedAt: start, FinishedAt: start, ContainerID: cs.ContainerID,
			}
		}
		st.InitContainerStatuses = append(st.InitContainerStatuses, cs)
	}
	for _, c := range pod.Spec.Containers {
		st.ContainerStatuses = append(st.ContainerStatuses, runningContainer(pod, &c, start, ready))
		if !ready {
			unready = append(unready, c.Name)
		}
	}
	gen := pod.Generation
	containersReady := corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, ObservedGeneration: gen}
	podReady := readyCondition(pod, st.Conditions)
	if len(unready) > 0 {
		containersReady.Status = corev1.ConditionFalse
		containersReady.Reason = reasonContainersNotReady
		containersReady.Message = fmt.Sprintf("containers with unready status: %s", unready)
		podReady = containersReady
		podReady.Type = corev1.PodReady
	}
	setCondition(&st, corev1.PodCondition{Type: corev1.PodReadyToStartContainers, Status: corev1.ConditionTrue, ObservedGeneration: gen}, now)
	setCondition(&st, corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, ObservedGeneration: gen}, now)
	setCondition(&st, containersReady, now)
	setCondition(&st, podReady, now)
	if findCondition(st.Conditions, corev1.PodScheduled) == nil {
		setCondition(&st, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, ObservedGeneration: gen}, now)
	}
	return st
}

// readyCondition is Ready once the containers are: true only when every
// readiness gate's condition is true too, with upstream's message
// naming the gates that are not.
func readyCondition(pod *corev1.Pod, conditions []corev1.PodCondition) corev1.PodCondition {
	var unready []string
	for _, g := range pod.Spec.ReadinessGates {
		c := findCondition(conditions, g.ConditionType)
		switch {
		case c == nil:
			unready = append(unready, fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", string(g.ConditionType)))
		case c.Status != corev1.ConditionTrue:
			unready = append(unready, fmt.Sprintf("the status of pod readiness gate %q is not \"True\", but %v", string(g.ConditionType), c.Status))
		}
	}
	if len(unready) > 0 {
		return corev1.PodCondition{
			Type: corev1.PodReady, Status: corev1.ConditionFalse, ObservedGeneration: pod.Generation,
			Reason: reasonReadinessGatesNotReady, Message: strings.Join(unready, ", "),
		}
	}
	return corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue, ObservedGeneration: pod.Generation}
}

// finishedStatus is running (a runningStatus) once the containers ended
// as f says: the pod Succeeded or Failed, its containers terminated
// f.After after the pod started, nothing ready any more.
func finishedStatus(pod *corev1.Pod, running corev1.PodStatus, f Finish, now metav1.Time) corev1.PodStatus {
	st := running
	st.Phase = f.Phase
	start := *st.StartTime
	end := metav1.NewTime(start.Add(f.After))
	reason, exitReason := reasonPodCompleted, "Completed"
	if f.Phase == corev1.PodFailed {
		reason = reasonPodFailed
	}
	if f.ExitCode != 0 {
		exitReason = "Error"
	}
	terminate := func(statuses []corev1.ContainerStatus) []corev1.ContainerStatus {
		out := make([]corev1.ContainerStatus, len(statuses))
		for i, cs := range statuses {
			if cs.State.Running != nil {
				cs.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
					ExitCode: f.ExitCode, Reason: exitReason, StartedAt: start, FinishedAt: end, ContainerID: cs.ContainerID,
				}}
				cs.Ready = false
				cs.Started = ptr.To(false)
			}
			out[i] = cs
		}
		return out
	}
	st.InitContainerStatuses = terminate(running.InitContainerStatuses)
	st.ContainerStatuses = terminate(running.ContainerStatuses)
	st.Conditions = append([]corev1.PodCondition(nil), running.Conditions...)
	gen := pod.Generation
	initialized := corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, ObservedGeneration: gen}
	if f.Phase == corev1.PodSucceeded {
		initialized.Reason = reasonPodCompleted
	}
	setCondition(&st, corev1.PodCondition{Type: corev1.PodReadyToStartContainers, Status: corev1.ConditionFalse, ObservedGeneration: gen}, now)
	setCondition(&st, initialized, now)
	setCondition(&st, corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionFalse, Reason: reason, ObservedGeneration: gen}, now)
	setCondition(&st, corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: reason, ObservedGeneration: gen}, now)
	return st
}

// rejectedStatus is the status of a pod the node's admission refused:
// Failed, with the reason (OutOfcpu, ...) and upstream's message.
func rejectedStatus(pod *corev1.Pod, reason, message string) corev1.PodStatus {
	st := pod.Status
	st.Phase = corev1.PodFailed
	st.Reason = reason
	st.Message = "Pod was rejected: " + message
	st.ObservedGeneration = pod.Generation
	return st
}

func runningContainer(pod *corev1.Pod, c *corev1.Container, start metav1.Time, ready bool) corev1.ContainerStatus {
	cs := containerStatus(pod, c)
	cs.Ready = ready
	cs.Started = ptr.To(true)
	cs.State.Running = &corev1.ContainerStateRunning{StartedAt: start}
	return cs
}

// containerStatus is what every status of container c holds: its name,
// image and made-up image and container IDs, stable for one pod.
func containerStatus(pod *corev1.Pod, c *corev1.Container) corev1.ContainerStatus {
	return corev1.ContainerStatus{
		Name:        c.Name,
		Image:       c.Image,
		ImageID:     "sha256:" + sha(c.Image),
		ContainerID: "kemudi-sim://" + sha(string(pod.UID)+"/"+c.Name),
		Started:     ptr.To(false),
	}
}

// isSidecar reports whether an init container keeps running beside the
// pod's containers (restartPolicy Always).
func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// setCondition sets c in st.Conditions, keeping the old transition time
// when the condition's status did not change.
func setCondition(st *corev1.PodStatus, c corev1.PodCondition, now metav1.Time) {
	old := findCondition(st.Conditions, c.Type)
	if old == nil {
		c.LastTransitionTime = now
		st.Conditions = append(st.Conditions, c)
		return
	}
	c.LastProbeTime = old.LastProbeTime
	if old.Status == c.Status {
		c.LastTransitionTime = old.LastTransitionTime
	} else {
		c.LastTransitionTime = now
	}
	*old = c
}

func findCondition(conds []corev1.PodCondition, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

// finishDue says when a running pod's containers finish: done if they
// already have at now, else how long until they do.
func finishDue(start time.Time, f Finish, now time.Time) (done bool, wait time.Duration) {
	end := start.Add(f.After)
	if !now.Before(end) {
		return true, 0
	}
	return false, end.Sub(now)
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
