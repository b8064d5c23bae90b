package cri

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// sandboxShmSize is the size of a pod's /dev/shm, as upstream's default.
const sandboxShmSize = "size=65536k"

// mountSandboxShm gives the pod one /dev/shm for all its containers: a
// tmpfs of its own, or the node's when the pod uses the node's IPC
// namespace.
func mountSandboxShm(sb *sandbox) error {
	if sb.namespaceOptions().GetIpc() == runtimeapi.NamespaceMode_NODE {
		sb.ShmPath = "/dev/shm"
		return nil
	}
	p := filepath.Join(sb.Dir, "shm")
	if err := os.MkdirAll(p, 0o700); err != nil {
		return fmt.Errorf("pod /dev/shm: %w", err)
	}
	if err := unix.Mount("shm", p, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777,"+sandboxShmSize); err != nil {
		return fmt.Errorf("mount the pod's /dev/shm at %s: %w", p, err)
	}
	sb.ShmPath = p
	return nil
}

// unmountSandboxShm is idempotent.
func unmountSandboxShm(sb sandbox) error {
	if sb.ShmPath == "" || sb.ShmPath == "/dev/shm" {
		return nil
	}
	err := unix.Unmount(sb.ShmPath, unix.MNT_DETACH)
	if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount the pod's /dev/shm %s: %w", sb.ShmPath, err)
	}
	return nil
}
