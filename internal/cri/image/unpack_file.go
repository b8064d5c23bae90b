package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Regular files are most of a layer's entries (a Debian Python image:
// 7,351 of 8,894), and on a busy ext4 each system call that changes an
// inode costs tens of µs: a file is made with as few as it can be. Its
// attributes are set through its open descriptor (no path lookups), and
// the owner and mode only when the new file does not already have them
// (root makes root's files, 0644 and 0755 survive the usual umask).

// parentCache holds the directory of the last entry: a layer lists a
// directory's entries together, so most entries reuse it. It stays valid
// across entries of that directory, which only add or remove its
// children; an entry elsewhere replaces it.
type parentCache struct {
	rel string
	fd  int // -1: none
}

// parent opens the directory rel (made if missing) or reuses the cached
// one. The caller does not close it.
func (u *unpacker) parent(rel string) (int, error) {
	if u.cache.fd >= 0 && u.cache.rel == rel {
		return u.cache.fd, nil
	}
	fd, err := u.openDir(rel, true)
	if err != nil {
		return -1, err
	}
	u.dropParent()
	u.cache = parentCache{rel: rel, fd: fd}
	return fd, nil
}

func (u *unpacker) dropParent() {
	if u.cache.fd >= 0 {
		unix.Close(u.cache.fd)
	}
	u.cache = parentCache{fd: -1}
}

// regular writes the regular file base in pfd with hdr's attributes.
func (u *unpacker) regular(pfd int, base string, hdr *tar.Header, body io.Reader) error {
	perm := uint32(hdr.Mode & 0o777)
	flags := unix.O_WRONLY | unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Openat(pfd, base, flags, perm)
	if errors.Is(err, unix.EEXIST) {
		if _, err := removeExisting(pfd, base, false); err != nil {
			return err
		}
		fd, err = unix.Openat(pfd, base, flags, perm)
	}
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	f := os.NewFile(uintptr(fd), base)
	defer f.Close()
	if u.buf == nil {
		u.buf = make([]byte, 256<<10)
	}
	// writerOnly: os.File's ReadFrom would take a fresh 32 KiB buffer for
	// every file.
	if _, err := io.CopyBuffer(writerOnly{f}, body, u.buf); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if err := u.fileAttrs(fd, hdr); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

type writerOnly struct{ w io.Writer }

func (w writerOnly) Write(p []byte) (int, error) { return w.w.Write(p) }

// fileAttrs gives the open file fd hdr's owner, mode, xattrs and times,
// in that order (chown clears set-ID bits and file capabilities).
func (u *unpacker) fileAttrs(fd int, hdr *tar.Header) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat: %w", err)
	}
	if int(st.Uid) != hdr.Uid || int(st.Gid) != hdr.Gid {
		if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil && u.privileged {
			return fmt.Errorf("chown: %w", err)
		}
		st.Mode |= 0o7000 // chown may have cleared set-ID bits: set the mode again
	}
	if want := uint32(hdr.Mode & 0o7777); st.Mode&0o7777 != want {
		if err := unix.Fchmod(fd, want); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	for k, v := range hdr.PAXRecords {
		attr, ok := strings.CutPrefix(k, xattrPAXPrefix)
		if !ok || strings.HasPrefix(attr, overlayXattrs) {
			continue
		}
		if err := unix.Fsetxattr(fd, attr, []byte(v), 0); err != nil {
			if errors.Is(err, unix.ENOTSUP) || (!u.privileged && errors.Is(err, unix.EPERM)) {
				continue
			}
			return fmt.Errorf("xattr %s: %w", attr, err)
		}
	}
	return futimens(fd, hdr.AccessTime, hdr.ModTime)
}

// futimens sets an open file's times: utimensat with a NULL path, which
// x/sys/unix does not offer.
func futimens(fd int, atime, mtime time.Time) error {
	if mtime.IsZero() {
		mtime = time.Unix(0, 0)
	}
	if atime.IsZero() {
		atime = mtime
	}
	ts := [2]unix.Timespec{timespec(atime), timespec(mtime)}
	_, _, errno := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	if errno != 0 {
		return fmt.Errorf("set times: %w", errno)
	}
	return nil
}
