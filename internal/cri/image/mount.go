package image

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// Mount mounts the overlay at target.
func (r Rootfs) Mount(target string) error { return r.mount(target, 0) }

// MountReadOnly mounts the overlay at target read-only: the image's files
// as they are, nothing written to the upper directory (an image volume).
func (r Rootfs) MountReadOnly(target string) error { return r.mount(target, unix.MS_RDONLY) }

func (r Rootfs) mount(target string, flags uintptr) error {
	if len(r.Lower) == 0 || r.Upper == "" || r.Work == "" {
		return fmt.Errorf("mount rootfs at %s: incomplete rootfs", target)
	}
	opts := overlayOptions(r.Lower, r.Upper, r.Work)
	// The kernel takes at most a page of mount options. Many layers fit
	// when named relative to the snapshots directory.
	if len(opts) < os.Getpagesize()-1 {
		if err := unix.Mount("overlay", target, "overlay", flags, opts); err != nil {
			return fmt.Errorf("mount rootfs at %s: %w", target, err)
		}
		return nil
	}
	return r.mountRelative(target, flags)
}

func overlayOptions(lower []string, upper, work string) string {
	return "lowerdir=" + strings.Join(lower, ":") + ",upperdir=" + upper + ",workdir=" + work
}

// mountRelative mounts with every directory named relative to their
// common parent, made the working directory of one OS thread only
// (unshare(CLONE_FS)); that thread is thrown away afterwards.
func (r Rootfs) mountRelative(target string, flags uintptr) error {
	target, err := filepath.Abs(target)
	if err != nil {
		return err
	}
	all := append([]string{r.Upper, r.Work}, r.Lower...)
	base := filepath.Dir(all[0])
	for _, p := range all {
		for base != "/" && !strings.HasPrefix(p, base+"/") {
			base = filepath.Dir(base)
		}
	}
	rel := make([]string, len(all))
	for i, p := range all {
		rel[i] = strings.TrimPrefix(p, base+"/")
	}
	opts := overlayOptions(rel[2:], rel[0], rel[1])
	if len(opts) >= os.Getpagesize()-1 {
		return fmt.Errorf("mount rootfs at %s: %d layers make options too long", target, len(r.Lower))
	}
	errc := make(chan error, 1)
	go func() {
		// Not unlocked: the goroutine's end ends the thread with its cwd.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			errc <- err
			return
		}
		if err := unix.Chdir(base); err != nil {
			errc <- err
			return
		}
		errc <- unix.Mount("overlay", target, "overlay", flags, opts)
	}()
	if err := <-errc; err != nil {
		return fmt.Errorf("mount rootfs at %s: %w", target, err)
	}
	return nil
}

// Unmount unmounts target; a target that is not mounted (or does not
// exist) is no error.
func Unmount(target string) error {
	for range 8 { // mounts stacked on target come off one by one
		err := unix.Unmount(target, unix.UMOUNT_NOFOLLOW)
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("unmount %s: %w", target, err)
		}
	}
	return fmt.Errorf("unmount %s: still mounted", target)
}
