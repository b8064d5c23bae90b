package cri

import (
	"path/filepath"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// container is the record of a container. Its state machine is
// CREATED → RUNNING → EXITED, or CREATED → EXITED when it never started
// (start failed, or its sandbox stopped); UNKNOWN when the supervisor lost
// it. The supervisor is the authority on processes: the record mirrors
// what it reported last (its events), so that listing needs no round trip.
type container struct {
	ID         string                      `json:"id"`
	SandboxID  string                      `json:"sandboxId"`
	Config     *runtimeapi.ContainerConfig `json:"config"`
	ImageID    string                      `json:"imageId"`   // "sha256:..." (CRI's image_ref)
	ImageName  string                      `json:"imageName"` // as the user asked for it
	StopSignal string                      `json:"stopSignal,omitempty"`
	LogPath    string                      `json:"logPath,omitempty"`
	Rootfs     string                      `json:"rootfs"` // mount point of the overlay
	State      runtimeapi.ContainerState   `json:"state"`
	Pid        int                         `json:"pid,omitempty"`
	CreatedAt  int64                       `json:"createdAt"`
	StartedAt  int64                       `json:"startedAt,omitempty"`
	FinishedAt int64                       `json:"finishedAt,omitempty"`
	ExitCode   int32                       `json:"exitCode"`
	Reason     string                      `json:"reason,omitempty"`
	Message    string                      `json:"message,omitempty"`
	OOMKilled  bool                        `json:"oomKilled,omitempty"`
}

func containerID(c *container) string { return c.ID }

// rootfsKey names the container's writable layer in the image store.
func (c *container) rootfsKey() string { return "ctr-" + c.ID }

func containerRootfs(dir string) string { return filepath.Join(dir, "rootfs") }
