package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	whiteoutOpaque = ".wh..wh..opq"
	xattrPAXPrefix = "SCHILY.xattr."
	overlayXattrs  = "trusted.overlay."
)

// unpackOptions say what a layer may contain and where its lower layers
// are.
type unpackOptions struct {
	// AllowDevices permits character and block device nodes (only root
	// may make them anyway).
	AllowDevices bool
	// Parents are the directories of the lower layers, top first: a hard
	// link to a file of a lower layer becomes a copy of it, and a directory
	// the layer implies without an entry takes its owner and mode from them.
	Parents []string
}

// unpackLayer applies the uncompressed layer tar r to dir, an empty
// directory, as an overlayfs layer: whiteout files become 0/0 character
// devices and opaque markers the trusted.overlay.opaque xattr. Paths that
// leave dir, through ".." or through any symbolic link, are refused;
// ownership, modes, times and xattrs are kept.
func unpackLayer(r io.Reader, dir string, opts unpackOptions) error {
	root, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open layer dir: %w", err)
	}
	u := &unpacker{root: root, opts: opts, privileged: os.Geteuid() == 0, cache: parentCache{fd: -1}}
	defer u.close()
	for _, p := range opts.Parents {
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open lower layer: %w", err)
		}
		u.parents = append(u.parents, fd)
	}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read layer: %w", err)
		}
		if err := u.entry(hdr, tr); err != nil {
			return fmt.Errorf("layer entry %q: %w", hdr.Name, err)
		}
	}
	return u.finishDirs()
}

type dirTime struct {
	rel          string
	atime, mtime time.Time
}

type unpacker struct {
	root       int
	parents    []int
	opts       unpackOptions
	privileged bool
	dirs       []dirTime // set last: entries written into a directory change its mtime
	cache      parentCache
	buf        []byte // file bodies are copied through it
}

func (u *unpacker) close() {
	u.dropParent()
	unix.Close(u.root)
	for _, fd := range u.parents {
		unix.Close(fd)
	}
}

// cleanPath makes a tar entry name relative to the layer root; "." is the
// root itself. A name that climbs out of the root is refused (not clamped).
func cleanPath(name string) (string, error) {
	if strings.IndexByte(name, 0) >= 0 {
		return "", errors.New("NUL in path")
	}
	p := path.Clean(strings.TrimLeft(name, "/"))
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", fmt.Errorf("path %q escapes the layer root", name)
	}
	return p, nil
}

func (u *unpacker) entry(hdr *tar.Header, body io.Reader) error {
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader:
		return nil
	}
	rel, err := cleanPath(hdr.Name)
	if err != nil {
		return err
	}
	if rel == "." {
		if hdr.Typeflag != tar.TypeDir {
			return errors.New("the layer root must be a directory")
		}
		return u.rootAttrs(hdr)
	}
	dir, base := path.Split(rel)
	dir = strings.TrimSuffix(dir, "/")
	pfd, err := u.parent(dir)
	if err != nil {
		return err
	}
	if strings.HasPrefix(base, whiteoutPrefix) {
		return u.whiteout(pfd, base)
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		kept, err := removeExisting(pfd, base, true)
		if err != nil {
			return err
		}
		if !kept {
			if err := unix.Mkdirat(pfd, base, 0o700); err != nil {
				return fmt.Errorf("mkdir: %w", err)
			}
		}
		u.dirs = append(u.dirs, dirTime{rel: rel, atime: hdr.AccessTime, mtime: hdr.ModTime})
	case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse:
		return u.regular(pfd, base, hdr, body)
	case tar.TypeSymlink:
		if _, err := removeExisting(pfd, base, false); err != nil {
			return err
		}
		if err := unix.Symlinkat(hdr.Linkname, pfd, base); err != nil {
			return fmt.Errorf("symlink: %w", err)
		}
	case tar.TypeLink:
		// A hard link shares its target's inode and attributes.
		return u.hardlink(pfd, rel, base, hdr.Linkname)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		if err := u.mknod(pfd, base, hdr); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unsupported tar entry type %q", hdr.Typeflag)
	}
	return u.setAttrs(pfd, base, hdr)
}

func writeFile(pfd int, base string, body io.Reader) error {
	if _, err := removeExisting(pfd, base, false); err != nil {
		return err
	}
	fd, err := unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	f := os.NewFile(uintptr(fd), base)
	_, err = io.Copy(f, body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

func (u *unpacker) mknod(pfd int, base string, hdr *tar.Header) error {
	mode := uint32(unix.S_IFIFO)
	switch hdr.Typeflag {
	case tar.TypeChar:
		mode = unix.S_IFCHR
	case tar.TypeBlock:
		mode = unix.S_IFBLK
	}
	if mode != unix.S_IFIFO && !u.opts.AllowDevices {
		return errors.New("device nodes are not allowed")
	}
	if _, err := removeExisting(pfd, base, false); err != nil {
		return err
	}
	dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
	if err := unix.Mknodat(pfd, base, mode|0o600, int(dev)); err != nil {
		return fmt.Errorf("mknod: %w", err)
	}
	return nil
}

// whiteout hides a name of the lower layers (a 0/0 character device), or
// all of a directory's lower content (the opaque xattr).
func (u *unpacker) whiteout(pfd int, base string) error {
	if base == whiteoutOpaque {
		if err := unix.Fsetxattr(pfd, overlayXattrs+"opaque", []byte("y"), 0); err != nil {
			return fmt.Errorf("mark opaque: %w", err)
		}
		return nil
	}
	if strings.HasPrefix(base, whiteoutMeta) {
		return nil // aufs bookkeeping, meaningless here
	}
	name := strings.TrimPrefix(base, whiteoutPrefix)
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("bad whiteout %q", base)
	}
	if _, err := removeExisting(pfd, name, false); err != nil {
		return err
	}
	if err := unix.Mknodat(pfd, name, unix.S_IFCHR, 0); err != nil {
		return fmt.Errorf("whiteout: %w", err)
	}
	return nil
}

func (u *unpacker) hardlink(pfd int, rel, base, linkname string) error {
	target, err := cleanPath(linkname)
	if err != nil {
		return err
	}
	if target == "." {
		return errors.New("hard link to the layer root")
	}
	if target == rel {
		return nil
	}
	tdir, tbase := path.Split(target)
	tfd, err := u.openDir(strings.TrimSuffix(tdir, "/"), false)
	if err == nil {
		defer unix.Close(tfd)
		var st unix.Stat_t
		err = unix.Fstatat(tfd, tbase, &st, unix.AT_SYMLINK_NOFOLLOW)
	}
	if errors.Is(err, unix.ENOENT) {
		return u.copyFromParents(pfd, base, target)
	}
	if err != nil {
		return fmt.Errorf("hard link target %q: %w", linkname, err)
	}
	if _, err := removeExisting(pfd, base, false); err != nil {
		return err
	}
	if err := unix.Linkat(tfd, tbase, pfd, base, 0); err != nil {
		return fmt.Errorf("hard link to %q: %w", linkname, err)
	}
	return nil
}

// copyFromParents makes base a copy of the regular file target of the
// nearest lower layer that has it: a link cannot cross layers.
func (u *unpacker) copyFromParents(pfd int, base, target string) error {
	tdir, tbase := path.Split(target)
	for _, proot := range u.parents {
		dfd, err := openBeneath(proot, orDot(strings.TrimSuffix(tdir, "/")), unix.O_RDONLY|unix.O_DIRECTORY)
		if err != nil {
			continue
		}
		var st unix.Stat_t
		if err := unix.Fstatat(dfd, tbase, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			unix.Close(dfd)
			continue
		}
		if st.Mode&unix.S_IFMT != unix.S_IFREG {
			unix.Close(dfd)
			break // a whiteout, or not a file: nothing to link to
		}
		sfd, err := unix.Openat(dfd, tbase, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(dfd)
		if err != nil {
			return fmt.Errorf("hard link target %q: %w", target, err)
		}
		src := os.NewFile(uintptr(sfd), target)
		err = writeFile(pfd, base, src)
		src.Close()
		if err != nil {
			return err
		}
		unix.Fchownat(pfd, base, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW)
		return unix.Fchmodat(pfd, base, st.Mode&0o7777, 0)
	}
	return fmt.Errorf("hard link target %q not found", target)
}

func (u *unpacker) rootAttrs(hdr *tar.Header) error {
	if err := unix.Fchown(u.root, hdr.Uid, hdr.Gid); err != nil && u.privileged {
		return fmt.Errorf("chown: %w", err)
	}
	if err := unix.Fchmod(u.root, uint32(hdr.Mode&0o7777)); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	u.dirs = append(u.dirs, dirTime{rel: ".", atime: hdr.AccessTime, mtime: hdr.ModTime})
	return nil
}

func (u *unpacker) setAttrs(pfd int, base string, hdr *tar.Header) error {
	if err := unix.Fchownat(pfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil && u.privileged {
		return fmt.Errorf("chown: %w", err)
	}
	// After chown, which clears setuid bits. Links have no mode of their own.
	if hdr.Typeflag != tar.TypeSymlink {
		if err := unix.Fchmodat(pfd, base, uint32(hdr.Mode&0o7777), 0); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	for k, v := range hdr.PAXRecords {
		attr, ok := strings.CutPrefix(k, xattrPAXPrefix)
		// Overlay's own xattrs would redirect lookups between layers.
		if !ok || strings.HasPrefix(attr, overlayXattrs) {
			continue
		}
		p := fmt.Sprintf("/proc/self/fd/%d/%s", pfd, base)
		if err := unix.Lsetxattr(p, attr, []byte(v), 0); err != nil {
			if errors.Is(err, unix.ENOTSUP) || (!u.privileged && errors.Is(err, unix.EPERM)) {
				continue
			}
			return fmt.Errorf("xattr %s: %w", attr, err)
		}
	}
	if hdr.Typeflag == tar.TypeDir {
		return nil
	}
	return setTimes(pfd, base, hdr.AccessTime, hdr.ModTime)
}

func (u *unpacker) finishDirs() error {
	for _, d := range u.dirs {
		if d.rel == "." {
			if err := setTimes(u.root, ".", d.atime, d.mtime); err != nil {
				return err
			}
			continue
		}
		dir, base := path.Split(d.rel)
		pfd, err := u.openDir(strings.TrimSuffix(dir, "/"), false)
		if err != nil {
			continue // replaced by a later entry
		}
		err = setTimes(pfd, base, d.atime, d.mtime)
		unix.Close(pfd)
		if err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("times of %q: %w", d.rel, err)
		}
	}
	return nil
}

func setTimes(pfd int, base string, atime, mtime time.Time) error {
	if mtime.IsZero() {
		mtime = time.Unix(0, 0)
	}
	if atime.IsZero() {
		atime = mtime
	}
	ts := []unix.Timespec{timespec(atime), timespec(mtime)}
	if err := unix.UtimesNanoAt(pfd, base, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

func timespec(t time.Time) unix.Timespec {
	return unix.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
}
