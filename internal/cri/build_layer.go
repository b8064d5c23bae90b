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

// diffLayer writes the layer of upper to file; nil when upper holds no
// change.
func diffLayer(upper, file string) (*fileLayer, error) {
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
	n, err := writeDiff(tw, upper)
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

// writeDiff writes the entries of upper to tw in lexical order and says
// how many it wrote.
func writeDiff(tw *tar.Writer, upper string) (int, error) {
	links := map[[2]uint64]string{} // (dev, ino) of files with several links → first name
	n := 0
	err := filepath.WalkDir(upper, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(upper, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		if skipInDiff[rel] && isEmpty(p, &st) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0 {
			n++
			return writeWhiteout(tw, rel)
		}
		hdr, err := diffHeader(p, rel, &st, links)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		n++
		if hdr.Typeflag == tar.TypeReg && hdr.Size > 0 {
			if err := copyFileTo(tw, p, hdr.Size); err != nil {
				return err
			}
		}
		if d.IsDir() && opaque(p) {
			n++
			return writeWhiteout(tw, rel+"/.wh..wh..opq")
		}
		return nil
	})
	return n, err
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
