package cri

import (
	"archive/tar"
	"bufio"
	"compress/bzip2"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/gzip"
	"golang.org/x/sys/unix"

	"github.com/kemudi/kemudi/internal/build"
	"github.com/kemudi/kemudi/internal/cri/image"
)

// COPY, ADD and WORKDIR change the stage's files from outside: its
// rootfs is mounted here, changed, and its upper directory committed.

type copyOp struct {
	sources  []build.Source // from the context
	from     string         // or, COPY --from: the image to copy out of
	patterns []string       // the sources as written, for --from
	dest     string
	chown    string
	unpack   bool // ADD: local tar archives are extracted
}

// mountImage mounts a writable rootfs of imageID at a new directory of
// the build; cleanup unmounts and removes it (also when done is called
// before).
func (b *builder) mountImage(ctx context.Context, imageID string) (image.Rootfs, string, func(), error) {
	b.nextKey++
	key := fmt.Sprintf("build-%s-%d", b.id, b.nextKey)
	mnt := filepath.Join(b.dir, fmt.Sprintf("mnt-%d", b.nextKey))
	if err := os.Mkdir(mnt, 0o700); err != nil {
		return image.Rootfs{}, "", nil, err
	}
	rfs, err := b.store.PrepareRootfs(ctx, key, imageID)
	if err != nil {
		return image.Rootfs{}, "", nil, err
	}
	undo := func() {
		b.r.logErr("unmount build rootfs", image.Unmount(mnt))
		b.r.logErr("remove build rootfs", b.store.RemoveRootfs(key))
	}
	if err := rfs.Mount(mnt); err != nil {
		b.r.logErr("remove build rootfs", b.store.RemoveRootfs(key))
		return image.Rootfs{}, "", nil, err
	}
	done := false
	release := func() {
		if !done {
			done = true
			undo()
		}
	}
	b.cleanups = append(b.cleanups, release)
	return rfs, mnt, release, nil
}

// fsStep mounts the stage, applies change to its root and commits the
// difference.
func (b *builder) fsStep(ctx context.Context, s *buildState, createdBy string, change func(root string) error) error {
	if err := b.ensureImage(ctx, s); err != nil {
		return err
	}
	rfs, mnt, release, err := b.mountImage(ctx, s.ImageID)
	if err != nil {
		return err
	}
	defer release()
	if err := change(mnt); err != nil {
		return err
	}
	if err := image.Unmount(mnt); err != nil {
		return err
	}
	return b.commitUpper(ctx, s, rfs, createdBy)
}

// commitUpper commits the upper directory of rfs as the stage's next
// layer; no change adds no layer.
func (b *builder) commitUpper(ctx context.Context, s *buildState, rfs image.Rootfs, createdBy string) error {
	b.nextKey++
	layer, err := diffLayer(rfs.Upper, rfs.Lower, filepath.Join(b.dir, fmt.Sprintf("layer-%d.tar.gz", b.nextKey)))
	if err != nil {
		return err
	}
	if layer == nil {
		b.addHistory(s, createdBy, true)
		s.Dirty = true
		return nil
	}
	b.addHistory(s, createdBy, false)
	img, err := b.store.CommitBuildCache(ctx, s.ImageID, []v1.Layer{layer}, s.Config)
	os.Remove(layer.path)
	if err != nil {
		return err
	}
	s.ImageID, s.Dirty = img.ID, false
	return nil
}

// workdir makes the WORKDIR when the image lacks it, owned by the USER
// (as BuildKit does), so that the user's RUN steps can write there.
func (b *builder) workdir(ctx context.Context, s *buildState, createdBy string) error {
	dir, user := s.Config.Config.WorkingDir, s.Config.Config.User
	return b.fsStep(ctx, s, createdBy, func(root string) error {
		p, err := securejoin.SecureJoin(root, dir)
		if err != nil {
			return err
		}
		uid, gid, err := chownIDs(root, user)
		if err != nil {
			return fmt.Errorf("USER %s: %w", user, err)
		}
		return mkdirAllIn(root, p, uid, gid, user != "")
	})
}

func (b *builder) copy(ctx context.Context, s *buildState, op copyOp, createdBy string) error {
	dest := op.dest
	if !path.IsAbs(dest) {
		dest = workdir(s.Config.Config.WorkingDir, dest)
		if strings.HasSuffix(op.dest, "/") || op.dest == "." {
			dest += "/"
		}
	}
	if op.from != "" {
		_, srcRoot, release, err := b.mountImage(ctx, op.from)
		if err != nil {
			return err
		}
		defer release()
		if op.sources, err = build.Sources(srcRoot, op.patterns); err != nil {
			return err
		}
	}
	return b.fsStep(ctx, s, createdBy, func(root string) error {
		uid, gid, err := chownIDs(root, op.chown)
		if err != nil {
			return err
		}
		c := copier{root: root, uid: uid, gid: gid, chown: op.chown != ""}
		return c.copyAll(op.sources, dest, op.unpack)
	})
}

// chownIDs resolves --chown=user:group against the stage's own
// /etc/passwd and /etc/group; none is root's.
func chownIDs(root, spec string) (int, int, error) {
	if spec == "" {
		return 0, 0, nil
	}
	db, err := readUserDB(root)
	if err != nil {
		return 0, 0, err
	}
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	var uid, gid uint32
	if id, err := strconv.ParseUint(userPart, 10, 32); err == nil {
		uid = uint32(id)
		gid = uid
		if e, ok := db.userByID(uid); ok {
			gid = e.gid
		}
	} else {
		e, ok := db.userByName(userPart)
		if !ok {
			return 0, 0, fmt.Errorf("--chown=%s: user %q not found in the image's /etc/passwd", spec, userPart)
		}
		uid, gid = e.uid, e.gid
	}
	if hasGroup {
		g, err := groupID(db, groupPart)
		if err != nil {
			return 0, 0, fmt.Errorf("--chown=%s: group %q not found in the image's /etc/group", spec, groupPart)
		}
		gid = g
	}
	return int(uid), int(gid), nil
}

// copier writes into a mounted rootfs, resolving every destination
// inside it (a symlink in the image never leads out to the host).
type copier struct {
	root     string
	uid, gid int
	chown    bool
}

func (c copier) copyAll(srcs []build.Source, dest string, unpack bool) error {
	destDir := strings.HasSuffix(dest, "/") || len(srcs) > 1
	target, err := securejoin.SecureJoin(c.root, dest)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(target); err == nil && fi.IsDir() {
		destDir = true
	}
	for _, src := range srcs {
		fi, err := os.Stat(src.Path)
		if err != nil {
			return fmt.Errorf("%s: %w", src.Rel, err)
		}
		switch {
		case fi.IsDir():
			if err := mkdirAllIn(c.root, target, c.uid, c.gid, c.chown); err != nil {
				return err
			}
			if err := c.copyTree(src.Path, dest); err != nil {
				return err
			}
		case unpack && isArchive(src.Path):
			if err := mkdirAllIn(c.root, target, 0, 0, false); err != nil {
				return err
			}
			if err := c.extract(src.Path, dest); err != nil {
				return fmt.Errorf("ADD %s: %w", src.Rel, err)
			}
		default:
			to := dest
			if destDir {
				to = path.Join(dest, path.Base(src.Rel))
			}
			if err := c.copyEntry(src.Path, to, fi); err != nil {
				return err
			}
		}
	}
	return nil
}

// copyTree copies the contents of dir (not dir itself) into dest.
func (c copier) copyTree(dir, dest string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		return c.copyEntry(p, path.Join(dest, filepath.ToSlash(rel)), fi)
	})
}

// place resolves dest's parent inside the root (made when missing) and
// clears what is in the way of a new entry there.
func (c copier) place(dest string, dir bool) (string, error) {
	parent, err := securejoin.SecureJoin(c.root, path.Dir(dest))
	if err != nil {
		return "", err
	}
	if err := mkdirAllIn(c.root, parent, c.uid, c.gid, c.chown); err != nil {
		return "", err
	}
	p := filepath.Join(parent, path.Base(dest))
	if fi, err := os.Lstat(p); err == nil && !(dir && fi.IsDir()) {
		if err := os.RemoveAll(p); err != nil {
			return "", err
		}
	}
	return p, nil
}

func (c copier) copyEntry(src, dest string, fi fs.FileInfo) error {
	p, err := c.place(dest, fi.IsDir())
	if err != nil {
		return err
	}
	switch {
	case fi.IsDir():
		if err := os.Mkdir(p, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	case fi.Mode()&fs.ModeSymlink != 0:
		t, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := os.Symlink(t, p); err != nil {
			return err
		}
	case fi.Mode().IsRegular():
		if err := copyFile(src, p); err != nil {
			return err
		}
	default:
		return nil // devices, fifos and sockets are not copied
	}
	return c.attrs(p, fi.Mode(), fi.ModTime())
}

func (c copier) attrs(p string, mode fs.FileMode, mtime interface{ UnixNano() int64 }) error {
	if err := os.Lchown(p, c.uid, c.gid); err != nil {
		return err
	}
	if mode&fs.ModeSymlink != 0 {
		return nil
	}
	perm := uint32(mode.Perm())
	if mode&fs.ModeSetuid != 0 {
		perm |= unix.S_ISUID
	}
	if mode&fs.ModeSetgid != 0 {
		perm |= unix.S_ISGID
	}
	if mode&fs.ModeSticky != 0 {
		perm |= unix.S_ISVTX
	}
	if err := unix.Chmod(p, perm); err != nil {
		return err
	}
	ts := unix.NsecToTimespec(mtime.UnixNano())
	return unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// mkdirAllIn makes the directory p (already resolved inside root) and
// its missing parents, those it makes owned by uid:gid when chown, else
// root's.
func mkdirAllIn(root, p string, uid, gid int, chown bool) error {
	if fi, err := os.Stat(p); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s: not a directory", strings.TrimPrefix(p, root))
		}
		return nil
	}
	if p != root {
		parent, err := securejoin.SecureJoin(root, strings.TrimPrefix(filepath.Dir(p), root))
		if err != nil {
			return err
		}
		if err := mkdirAllIn(root, parent, uid, gid, chown); err != nil {
			return err
		}
	}
	if err := os.Mkdir(p, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	if chown {
		return os.Lchown(p, uid, gid)
	}
	return nil
}

// isArchive says whether an ADD source is a tar archive (plain, gzip or
// bzip2) to extract rather than copy.
func isArchive(p string) bool {
	r, closer, err := openArchive(p)
	if err != nil {
		return false
	}
	defer closer()
	_, err = tar.NewReader(r).Next()
	return err == nil
}

func openArchive(p string) (io.Reader, func(), error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, err
	}
	br := bufio.NewReader(f)
	magic, _ := br.Peek(3)
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, nil, err
		}
		return zr, func() { zr.Close(); f.Close() }, nil
	case len(magic) == 3 && string(magic) == "BZh":
		return bzip2.NewReader(br), func() { f.Close() }, nil
	}
	return br, func() { f.Close() }, nil
}

// extract unpacks a tar archive into dest, keeping its owners (as docker
// does for ADD) unless --chown.
func (c copier) extract(archive, dest string) error {
	r, closer, err := openArchive(archive)
	if err != nil {
		return err
	}
	defer closer()
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := path.Clean("/" + hdr.Name)
		if name == "/" {
			continue
		}
		to := path.Join(dest, name)
		p, err := c.place(to, hdr.Typeflag == tar.TypeDir)
		if err != nil {
			return err
		}
		uid, gid := hdr.Uid, hdr.Gid
		if c.chown {
			uid, gid = c.uid, c.gid
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.Mkdir(p, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
		case tar.TypeReg:
			out, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
			if err != nil {
				return err
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := os.Symlink(hdr.Linkname, p); err != nil {
				return err
			}
		case tar.TypeLink:
			old, err := securejoin.SecureJoin(c.root, path.Join(dest, path.Clean("/"+hdr.Linkname)))
			if err != nil {
				return err
			}
			if err := os.Link(old, p); err != nil {
				return err
			}
			continue
		default:
			continue // devices and fifos are not made by ADD here
		}
		ec := copier{root: c.root, uid: uid, gid: gid}
		if err := ec.attrs(p, hdr.FileInfo().Mode(), hdr.ModTime); err != nil {
			return err
		}
	}
}
