package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// hasContainer says whether the pod's spec names the container (init and
// ephemeral containers included).
func hasContainer(pod *corev1.Pod, name string) bool {
	for _, c := range pod.Spec.Containers {
		if c.Name == name {
			return true
		}
	}
	for _, c := range pod.Spec.InitContainers {
		if c.Name == name {
			return true
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		if c.Name == name {
			return true
		}
	}
	return false
}

func containerStatus(pod *corev1.Pod, name string) (corev1.ContainerStatus, bool) {
	for _, list := range [][]corev1.ContainerStatus{pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses, pod.Status.EphemeralContainerStatuses} {
		for _, cs := range list {
			if cs.Name == name {
				return cs, true
			}
		}
	}
	return corev1.ContainerStatus{}, false
}

// runtimeID strips the runtime's scheme from a status's container ID.
func runtimeID(id string) string {
	if _, after, ok := strings.Cut(id, "://"); ok {
		return after
	}
	return id
}

// logContainerID picks the container instance whose log pods/log reads,
// with upstream's choices and messages (400s) for the cases that have no
// log yet.
func logContainerID(pod *corev1.Pod, name string, previous bool) (string, error) {
	bad := func(format string, args ...any) error {
		return httpError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
	}
	cs, ok := containerStatus(pod, name)
	if !ok {
		return "", bad("container %q in pod %q is waiting to start: ContainerCreating", name, pod.Name)
	}
	last, cur := cs.LastTerminationState, cs.State
	switch {
	case previous:
		if last.Terminated == nil || last.Terminated.ContainerID == "" {
			return "", bad("previous terminated container %q in pod %q not found", name, pod.Name)
		}
		return runtimeID(last.Terminated.ContainerID), nil
	case cur.Running != nil:
		return runtimeID(cs.ContainerID), nil
	case cur.Terminated != nil:
		if cur.Terminated.ContainerID != "" {
			return runtimeID(cur.Terminated.ContainerID), nil
		}
		if last.Terminated != nil && last.Terminated.ContainerID != "" {
			return runtimeID(last.Terminated.ContainerID), nil
		}
		return "", bad("container %q in pod %q is terminated", name, pod.Name)
	case last.Terminated != nil:
		if last.Terminated.ContainerID == "" {
			return "", bad("container %q in pod %q is terminated", name, pod.Name)
		}
		return runtimeID(last.Terminated.ContainerID), nil
	case cur.Waiting != nil:
		switch cur.Waiting.Reason {
		case "ErrImagePull":
			return "", bad("container %q in pod %q is waiting to start: image can't be pulled", name, pod.Name)
		case "ImagePullBackOff":
			return "", bad("container %q in pod %q is waiting to start: trying and failing to pull image", name, pod.Name)
		}
		return "", bad("container %q in pod %q is waiting to start: %v", name, pod.Name, cur.Waiting.Reason)
	}
	return "", bad("container %q in pod %q is waiting to start - no logs yet", name, pod.Name)
}

// runningContainer is the ID of the pod's running instance of the
// container, asked of the runtime (the pod's reported status may lag).
func (s *Server) runningContainer(ctx context.Context, pod *corev1.Pod, name string) (string, error) {
	resp, err := s.cfg.Runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{
		State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING},
		LabelSelector: map[string]string{
			"io.kubernetes.pod.uid":        string(pod.UID),
			"io.kubernetes.container.name": name,
		},
	}})
	if err != nil {
		return "", fmt.Errorf("list containers: %w", err)
	}
	var best *runtimeapi.Container
	for _, c := range resp.Containers {
		if best == nil || c.GetMetadata().GetAttempt() > best.GetMetadata().GetAttempt() {
			best = c
		}
	}
	if best == nil {
		return "", httpError{http.StatusNotFound, fmt.Sprintf("container not found (%q)", name)}
	}
	return best.Id, nil
}

// sandboxID is the ID of the pod's ready sandbox.
func (s *Server) sandboxID(ctx context.Context, pod *corev1.Pod) (string, error) {
	resp, err := s.cfg.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{
		State:         &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_READY},
		LabelSelector: map[string]string{"io.kubernetes.pod.uid": string(pod.UID)},
	}})
	if err != nil {
		return "", fmt.Errorf("list pod sandboxes: %w", err)
	}
	var best *runtimeapi.PodSandbox
	for _, sb := range resp.Items {
		if best == nil || sb.CreatedAt > best.CreatedAt {
			best = sb
		}
	}
	if best == nil {
		return "", httpError{http.StatusNotFound, fmt.Sprintf("pod %q has no running sandbox", pod.Name)}
	}
	return best.Id, nil
}
