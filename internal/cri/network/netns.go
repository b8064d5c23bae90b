package network

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/kemudi/kemudi/internal/netnsrun"
)

// CreateNetNS creates a new network namespace held by a bind mount at dir/id
// (no process keeps it), with lo up, and returns its path. The namespace is
// fresh whatever namespace the caller's thread is in.
func CreateNetNS(dir, id string) (string, error) {
	path, err := ReserveNetNS(dir, id)
	if err != nil {
		return "", err
	}
	errc := make(chan error, 1)
	// The thread that unshares keeps the new namespace as its own: it stays
	// locked so that the runtime discards it when the goroutine ends instead
	// of running other goroutines in the wrong namespace.
	go func() {
		runtime.LockOSThread()
		errc <- unshareAndMount(path)
	}()
	if err := <-errc; err != nil {
		_ = RemoveNetNS(path)
		return "", fmt.Errorf("create netns %s: %w", id, err)
	}
	if err := LoopbackUp(path); err != nil {
		_ = RemoveNetNS(path)
		return "", fmt.Errorf("create netns %s: %w", id, err)
	}
	return path, nil
}

// ReserveNetNS makes the file dir/id, where a network namespace made by
// someone else is to be bound (one made inside a pod's user namespace),
// and returns its path. RemoveNetNS undoes it.
func ReserveNetNS(dir, id string) (string, error) {
	if id == "" || filepath.Base(id) != id {
		return "", fmt.Errorf("create netns: invalid id %q", id)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create netns %s: %w", id, err)
	}
	path := filepath.Join(dir, id)
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return "", fmt.Errorf("create netns %s: %w", id, err)
	}
	return path, f.Close()
}

func unshareAndMount(path string) error {
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("unshare: %w", err)
	}
	src := fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid())
	if err := unix.Mount(src, path, "none", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind mount %s: %w", path, err)
	}
	return nil
}

// LoopbackUp sets lo up in the network namespace at path.
func LoopbackUp(path string) error {
	h, err := netnsrun.Netlink(path)
	if err != nil {
		return err
	}
	defer h.Delete()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find lo: %w", err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("set lo up: %w", err)
	}
	return nil
}

// RemoveNetNS unmounts and removes a namespace made by CreateNetNS. It is
// idempotent.
func RemoveNetNS(path string) error {
	if path == "" {
		return nil
	}
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove netns %s: unmount: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove netns %s: %w", path, err)
	}
	return nil
}
