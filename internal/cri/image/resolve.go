package image

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// openBeneath opens rel below dirfd without following any symbolic link
// and without leaving dirfd: the kernel refuses both (openat2).
func openBeneath(dirfd int, rel string, flags int) (int, error) {
	how := &unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
	}
	for range 10 {
		fd, err := unix.Openat2(dirfd, rel, how)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		return fd, err
	}
	return -1, unix.EAGAIN
}

func orDot(rel string) string {
	if rel == "" {
		return "."
	}
	return rel
}

// openDir opens the directory rel of the layer; with create, it makes the
// directories missing on the way.
func (u *unpacker) openDir(rel string, create bool) (int, error) {
	rel = orDot(rel)
	fd, err := openBeneath(u.root, rel, unix.O_RDONLY|unix.O_DIRECTORY)
	if err == nil {
		return fd, nil
	}
	if !create || !errors.Is(err, unix.ENOENT) {
		return -1, resolveError(rel, err)
	}
	fd, err = unix.FcntlInt(uintptr(u.root), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	cur := ""
	for _, c := range strings.Split(rel, "/") {
		cur = path.Join(cur, c)
		next, err := openBeneath(fd, c, unix.O_RDONLY|unix.O_DIRECTORY)
		if errors.Is(err, unix.ENOENT) {
			if err := unix.Mkdirat(fd, c, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
				unix.Close(fd)
				return -1, fmt.Errorf("mkdir %q: %w", cur, err)
			}
			u.impliedDirAttrs(fd, c, cur)
			next, err = openBeneath(fd, c, unix.O_RDONLY|unix.O_DIRECTORY)
		}
		unix.Close(fd)
		if err != nil {
			return -1, resolveError(cur, err)
		}
		fd = next
	}
	return fd, nil
}

// impliedDirAttrs gives a directory the layer implies without an entry the
// owner and mode it has in the nearest lower layer, so that it does not
// change them in the merged view.
func (u *unpacker) impliedDirAttrs(pfd int, base, rel string) {
	for _, proot := range u.parents {
		fd, err := openBeneath(proot, rel, unix.O_RDONLY|unix.O_DIRECTORY)
		if err != nil {
			continue
		}
		var st unix.Stat_t
		err = unix.Fstat(fd, &st)
		unix.Close(fd)
		if err != nil {
			continue
		}
		unix.Fchownat(pfd, base, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW)
		unix.Fchmodat(pfd, base, st.Mode&0o7777, 0)
		return
	}
}

func resolveError(rel string, err error) error {
	switch {
	case errors.Is(err, unix.ELOOP):
		return fmt.Errorf("path %q goes through a symbolic link", rel)
	case errors.Is(err, unix.EXDEV):
		return fmt.Errorf("path %q escapes the layer root", rel)
	case errors.Is(err, unix.ENOTDIR):
		return fmt.Errorf("path %q: not a directory", rel)
	}
	return fmt.Errorf("path %q: %w", rel, err)
}

// removeExisting makes room for a new entry base in pfd. With keepDir, an
// existing directory stays (a directory entry merges with it) and kept
// says so.
func removeExisting(pfd int, base string, keepDir bool) (kept bool, err error) {
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return false, nil
		}
		return false, fmt.Errorf("stat: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		if err := unix.Unlinkat(pfd, base, 0); err != nil {
			return false, fmt.Errorf("replace: %w", err)
		}
		return false, nil
	}
	if keepDir {
		return true, nil
	}
	// os.RemoveAll unlinks through directory fds and never follows links.
	if err := os.RemoveAll(fmt.Sprintf("/proc/self/fd/%d/%s", pfd, base)); err != nil {
		return false, fmt.Errorf("replace directory: %w", err)
	}
	return false, nil
}
