package kubelet

import (
	"sort"
	"strconv"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// PodState is the runtime's view of one pod: its sandboxes and
// containers, newest first.
type PodState struct {
	Sandboxes  []*runtimeapi.PodSandboxStatus
	Containers []*runtimeapi.ContainerStatus
	// SandboxOf maps a container ID to its sandbox's ID.
	SandboxOf map[string]string
}

// sortNewestFirst orders sandboxes and containers by creation time.
func (s *PodState) sortNewestFirst() {
	sort.SliceStable(s.Sandboxes, func(i, j int) bool { return s.Sandboxes[i].CreatedAt > s.Sandboxes[j].CreatedAt })
	sort.SliceStable(s.Containers, func(i, j int) bool { return s.Containers[i].CreatedAt > s.Containers[j].CreatedAt })
}

// latest is the newest container of that name (in sandbox sb unless
// sb is ""), or nil.
func (s PodState) latest(name, sb string) *runtimeapi.ContainerStatus {
	for _, c := range s.Containers {
		if c.GetMetadata().GetName() == name && (sb == "" || s.SandboxOf[c.Id] == sb) {
			return c
		}
	}
	return nil
}

// previous is the container of that name before the newest, or nil.
func (s PodState) previous(name string) *runtimeapi.ContainerStatus {
	seen := false
	for _, c := range s.Containers {
		if c.GetMetadata().GetName() != name {
			continue
		}
		if seen {
			return c
		}
		seen = true
	}
	return nil
}

// readySandbox is the newest sandbox if it is ready.
func (s PodState) readySandbox() *runtimeapi.PodSandboxStatus {
	if len(s.Sandboxes) > 0 && s.Sandboxes[0].State == runtimeapi.PodSandboxState_SANDBOX_READY {
		return s.Sandboxes[0]
	}
	return nil
}

// running reports whether any container runs.
func (s PodState) running() bool {
	for _, c := range s.Containers {
		if c.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
			return true
		}
	}
	return false
}

// anyReadySandbox reports whether a sandbox still holds resources.
func (s PodState) anyReadySandbox() bool {
	for _, sb := range s.Sandboxes {
		if sb.State == runtimeapi.PodSandboxState_SANDBOX_READY {
			return true
		}
	}
	return false
}

// restartCount is the count recorded on a container when it was made.
func restartCount(c *runtimeapi.ContainerStatus) int32 {
	if c == nil {
		return 0
	}
	n, _ := strconv.Atoi(c.Annotations[annotationRestartCount])
	return int32(n)
}

// nextRestartCount is the count for a new container of that name.
func (s PodState) nextRestartCount(name string) int32 {
	if c := s.latest(name, ""); c != nil {
		return restartCount(c) + 1
	}
	return 0
}
