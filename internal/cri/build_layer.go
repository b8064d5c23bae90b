package cri

import (
	"archive/tar"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"golang.org/x/sys/unix"
)

// A step's layer is the difference its overlay's upper directory holds,
// written as an OCI layer: gzip-compressed tar (klauspost's gzip at its
// fastest level: builds are local and layers are unpacked at once), with
// overlay whiteouts (0/0 character devices) as .wh.<name> files and
// opaque directories (trusted.overlay.opaque=y) as .wh..wh..opq.

// skipInDiff are the mount points the runtime's containers get: when the
// image lacks them, runc makes them in the upper directory, and they are
// no part of what the step did.
var skipInDiff = map[string]bool{
	"etc/hosts": true, "etc/hostname": true, "etc/resolv.conf": true,
	"proc": true, "sys": true, "dev": true,
}

// fileLayer is a compressed layer written to a file, its digests known.
type fileLayer struct {
	path           string
	digest, diffID v1.Hash
	size           int64
}

func (l *fileLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *fileLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *fileLayer) Size() (int64, error)                { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) { return types.OCILayer, nil }
func (l *fileLayer) Compressed() (io.ReadCloser, error)  { return os.Open(l.path) }
func (l *fileLayer) Uncompressed() (io.ReadCloser, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return readCloser{zr, func() error { zr.Close(); return f.Close() }}, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }

// diffLayer writes the layer of upper (over lower, top first) to file;
// nil when upper holds no change.
func diffLayer(upper string, lower []string, file string) (*fileLayer, error) {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	compressed := &countingHash{h: sha256.New()}
	zw, err := gzip.NewWriterLevel(io.MultiWriter(f, compressed), gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	uncompressed := sha256.New()
	tw := tar.NewWriter(io.MultiWriter(zw, uncompressed))
	n, err := writeDiff(tw, upper, lower)
	if err != nil {
		return nil, fmt.Errorf("diff %s: %w", upper, err)
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	if n == 0 {
		os.Remove(file)
		return nil, nil
	}
	return &fileLayer{
		path:   file,
		digest: v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", compressed.h.Sum(nil))},
		diffID: v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", uncompressed.Sum(nil))},
		size:   compressed.n,
	}, nil
}

type countingHash struct {
	h hash.Hash
	n int64
}

func (c *countingHash) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.h.Write(p)
}

// diffEntry is one entry of an upper directory.
type diffEntry struct {
	rel, path string
	st        unix.Stat_t
	opaque    bool
}

// writeDiff writes the entries of upper to tw in lexical order and says
// how many it wrote. A directory that is only there because something
// beneath it was (runc's mount points, files made and removed again),
// unchanged from the lower layers, is left out.
func writeDiff(tw *tar.Writer, upper string, lower []string) (int, error) {
	var entries []diffEntry
	err := filepath.WalkDir(upper, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(upper, p)
		if err != nil || rel == "." {
			return err
		}
		e := diffEntry{rel: filepath.ToSlash(rel), path: p}
		if err := unix.Lstat(p, &e.st); err != nil {
			return err
		}
		if skipInDiff[e.rel] && isEmpty(p, &e.st) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		e.opaque = d.IsDir() && opaque(p)
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return 0, err
	}
	keep := make([]bool, len(entries))
	keptBelow := map[string]bool{}
	for i := len(entries) - 1; i >= 0; i-- { // children before their parents
		e := entries[i]
		isDir := e.st.Mode&unix.S_IFMT == unix.S_IFDIR
		keep[i] = !isDir || e.opaque || keptBelow[e.rel] || !sameInLower(lower, e.rel, &e.st)
		if keep[i] {
			keptBelow[path.Dir(e.rel)] = true
		}
	}
	links := map[[2]uint64]string{} // (dev, ino) of files with several links → first name
	n := 0
	for i, e := range entries {
		if !keep[i] {
			continue
		}
		if e.st.Mode&unix.S_IFMT == unix.S_IFCHR && e.st.Rdev == 0 {
			n++
			if err := writeWhiteout(tw, e.rel); err != nil {
				return n, err
			}
			continue
		}
		hdr, err := diffHeader(e.path, e.rel, &e.st, links)
		if err != nil {
			return n, err
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return n, err
		}
		n++
		if hdr.Typeflag == tar.TypeReg && hdr.Size > 0 {
			if err := copyFileTo(tw, e.path, hdr.Size); err != nil {
				return n, err
			}
		}
		if e.opaque {
			n++
			if err := writeWhiteout(tw, e.rel+"/.wh..wh..opq"); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// sameInLower says whether the lower layers (top first) have rel as a
// directory with st's mode and owner.
func sameInLower(lower []string, rel string, st *unix.Stat_t) bool {
	for _, l := range lower {
		var ls unix.Stat_t
		if err := unix.Lstat(filepath.Join(l, rel), &ls); err != nil {
			continue
		}
		return ls.Mode == st.Mode && ls.Uid == st.Uid && ls.Gid == st.Gid
	}
	return false
}

func isEmpty(p string, st *unix.Stat_t) bool {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		return st.Size == 0
	case unix.S_IFDIR:
		ents, err := os.ReadDir(p)
		return err == nil && len(ents) == 0
	}
	return false
}

func writeWhiteout(tw *tar.Writer, rel string) error {
	name := rel
	if !strings.HasSuffix(rel, "/.wh..wh..opq") {
		dir, base := filepath.Split(rel)
		name = dir + ".wh." + base
	}
	return tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Format: tar.FormatPAX})
}

func opaque(p string) bool {
	buf := make([]byte, 8)
	n, err := unix.Lgetxattr(p, "trusted.overlay.opaque", buf)
	return err == nil && n == 1 && buf[0] == 'y'
}

func diffHeader(p, rel string, st *unix.Stat_t, links map[[2]uint64]string) (*tar.Header, error) {
	hdr := &tar.Header{
		Name: rel, Mode: int64(st.Mode & 0o7777), Uid: int(st.Uid), Gid: int(st.Gid),
		ModTime: timespec(st.Mtim), Format: tar.FormatPAX,
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		hdr.Typeflag, hdr.Name = tar.TypeDir, rel+"/"
	case unix.S_IFREG:
		hdr.Typeflag, hdr.Size = tar.TypeReg, st.Size
		if st.Nlink > 1 {
			id := [2]uint64{st.Dev, st.Ino}
			if first, ok := links[id]; ok {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			} else {
				links[id] = rel
			}
		}
	case unix.S_IFLNK:
		target, err := os.Readlink(p)
		if err != nil {
			return nil, err
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
	case unix.S_IFCHR, unix.S_IFBLK:
		hdr.Typeflag = tar.TypeChar
		if st.Mode&unix.S_IFMT == unix.S_IFBLK {
			hdr.Typeflag = tar.TypeBlock
		}
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
	default:
		return nil, fmt.Errorf("%s: unsupported file type (a socket?)", rel)
	}
	if caps := fileCaps(p); caps != "" {
		hdr.PAXRecords = map[string]string{"SCHILY.xattr.security.capability": caps}
	}
	return hdr, nil
}

// fileCaps keeps file capabilities (setcap'd binaries such as ping);
// other extended attributes are not carried.
func fileCaps(p string) string {
	buf := make([]byte, 256)
	n, err := unix.Lgetxattr(p, "security.capability", buf)
	if err != nil || n <= 0 {
		return ""
	}
	return string(buf[:n])
}

func timespec(ts unix.Timespec) time.Time { return time.Unix(ts.Sec, ts.Nsec).UTC() }

func copyFileTo(w io.Writer, p string, size int64) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(w, io.LimitReader(f, size))
	if err != nil {
		return err
	}
	if n != size {
		return errors.New(p + ": changed while it was read")
	}
	return nil
}
