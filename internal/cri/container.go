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
	// User is the identity the container's processes run with.
	User *containerUser `json:"user,omitempty"`
}

// containerUser is the resolved user of a container's process.
type containerUser struct {
	UID    uint32   `json:"uid"`
	GID    uint32   `json:"gid"`
	Groups []uint32 `json:"groups,omitempty"` // supplementary, the primary group not repeated
}

// status is the user as ContainerStatus reports it: the supplementary
// groups include the primary one, as containerd reports them.
func (u *containerUser) status() *runtimeapi.ContainerUser {
	if u == nil {
		return nil
	}
	groups := []int64{int64(u.GID)}
	for _, g := range u.Groups {
		groups = append(groups, int64(g))
	}
	return &runtimeapi.ContainerUser{Linux: &runtimeapi.LinuxContainerUser{Uid: int64(u.UID), Gid: int64(u.GID), SupplementalGroups: groups}}
}

func containerID(c *container) string { return c.ID }

// rootfsKey names the container's writable layer in the image store.
func (c *container) rootfsKey() string { return "ctr-" + c.ID }

func containerRootfs(dir string) string { return filepath.Join(dir, "rootfs") }

// containersOf returns the containers of the sandbox sandboxID.
func (r *Runtime) containersOf(sandboxID string) []container {
	return r.containers.filter(func(c *container) bool { return c.SandboxID == sandboxID })
}
