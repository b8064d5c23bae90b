package image

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// MountIDMapped mounts the overlay at target for a container in the user
// namespace held at usernsPath, as containerd does for pods with
// hostUsers false: every lower layer through an idmapped mount of it, so
// that the host root's files are the namespace root's, and the upper
// directory owned by the namespace's root (uid and gid on the host), so
// that what the container writes is its own. The layers on disk stay as
// they are, shared with every other container.
func (r Rootfs) MountIDMapped(target, usernsPath string, uid, gid int) error {
	return r.mountIDMapped(target, usernsPath, uid, gid, 0)
}

// MountIDMappedReadOnly is MountIDMapped read-only, for an image volume
// of such a pod: overlayfs refuses to be idmapped itself (EINVAL), so
// its layers are, and a container binds it as it is. The upper
// directory is the namespace root's too: it is the volume's top
// directory's owner.
func (r Rootfs) MountIDMappedReadOnly(target, usernsPath string, uid, gid int) error {
	return r.mountIDMapped(target, usernsPath, uid, gid, unix.MS_RDONLY)
}

func (r Rootfs) mountIDMapped(target, usernsPath string, uid, gid int, flags uintptr) (err error) {
	ns, err := os.Open(usernsPath)
	if err != nil {
		return fmt.Errorf("mount rootfs at %s: user namespace: %w", target, err)
	}
	defer ns.Close()
	// The overlay takes private clones of its layers: the idmapped mounts
	// it is given go once it is mounted.
	stage := filepath.Join(filepath.Dir(target), idmapStage)
	if err := os.MkdirAll(stage, 0o700); err != nil {
		return fmt.Errorf("mount rootfs at %s: %w", target, err)
	}
	defer func() { err = errors.Join(err, unmountStage(stage)) }()
	idm := r
	idm.Lower = make([]string, len(r.Lower))
	for i, lower := range r.Lower {
		dir := filepath.Join(stage, strconv.Itoa(i))
		if err := idmappedBind(lower, dir, int(ns.Fd())); err != nil {
			return fmt.Errorf("mount rootfs at %s: layer %s: %w", target, lower, err)
		}
		idm.Lower[i] = dir
	}
	if err := os.Lchown(r.Upper, uid, gid); err != nil {
		return fmt.Errorf("mount rootfs at %s: %w", target, err)
	}
	return idm.mount(target, flags)
}

// idmapStage is where MountIDMapped mounts the idmapped layers, next to
// the target, for as long as it runs.
const idmapStage = "lower-idmapped"

// RemoveIDMapStage unmounts and removes what a MountIDMapped of a target
// in dir left when it was cut short (a crash): before anything removes
// dir whole, which would reach through those mounts into the layers.
func RemoveIDMapStage(dir string) error { return unmountStage(filepath.Join(dir, idmapStage)) }

// idmappedBind mounts src at dir through the user namespace userns:
// a detached clone of src, idmapped, then attached.
func idmappedBind(src, dir string, userns int) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !os.IsExist(err) {
		return err
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, src, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return fmt.Errorf("clone: %w", err)
	}
	defer unix.Close(fd)
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(userns)}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		return fmt.Errorf("idmap: %w", err)
	}
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, dir, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("attach at %s: %w", dir, err)
	}
	return nil
}

func unmountStage(stage string) error {
	entries, err := os.ReadDir(stage)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	var errs []error
	for _, e := range entries {
		p := filepath.Join(stage, e.Name())
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
			continue
		}
		// Remove, not RemoveAll: a layer still mounted here is refused
		// as not empty instead of emptied.
		errs = append(errs, os.Remove(p))
	}
	if err := os.Remove(stage); err != nil && !os.IsNotExist(err) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
