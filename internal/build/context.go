package build

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// Ignore reads dir/.dockerignore; nil when there is none.
func Ignore(dir string) (*patternmatcher.PatternMatcher, error) {
	f, err := os.Open(filepath.Join(dir, ".dockerignore"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf(".dockerignore: %w", err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf(".dockerignore: %w", err)
	}
	return pm, nil
}

// WriteContext writes the build context dir as an uncompressed tar to w,
// leaving out what .dockerignore excludes. Owners are not sent (a COPY
// makes files root's unless --chown); modes and symlinks are.
func WriteContext(dir string, w io.Writer) error {
	pm, err := Ignore(dir)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if pm != nil {
			skip, err := pm.MatchesOrParentMatches(rel)
			if err != nil {
				return err
			}
			if skip {
				// A directory with an exception ("!dir/keep") below it
				// must be walked all the same.
				if d.IsDir() && !pm.Exclusions() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		return addToTar(tw, p, rel, d)
	})
	if err != nil {
		return fmt.Errorf("build context %s: %w", dir, err)
	}
	return tw.Close()
}

func addToTar(tw *tar.Writer, p, rel string, d fs.DirEntry) error {
	info, err := d.Info()
	if err != nil {
		return err
	}
	link := ""
	if info.Mode()&fs.ModeSymlink != 0 {
		if link, err = os.Readlink(p); err != nil {
			return err
		}
	}
	if !info.Mode().IsRegular() && !info.IsDir() && info.Mode()&fs.ModeSymlink == 0 {
		return nil // sockets, devices and fifos have no place in a context
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return err
	}
	hdr.Name = rel
	if info.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
	hdr.Format = tar.FormatPAX
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(tw, io.LimitReader(f, hdr.Size))
	return err
}

// ExtractContext unpacks a context tar (WriteContext's) into dir, which
// must exist. Names that leave dir, and links, devices and fifos, are
// refused; symlinks are kept as they are (COPY copies them, never
// follows them out of the context).
func ExtractContext(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read build context: %w", err)
		}
		rel, err := cleanRel(hdr.Name)
		if err != nil {
			return fmt.Errorf("build context: %w", err)
		}
		if rel == "." {
			continue
		}
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("build context: %w", err)
		}
		if err := extractEntry(tr, hdr, dst); err != nil {
			return fmt.Errorf("build context: %s: %w", rel, err)
		}
	}
}

func extractEntry(tr *tar.Reader, hdr *tar.Header, dst string) error {

	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return err
		}
		return os.Chmod(dst, hdr.FileInfo().Mode()&^fs.ModeType)
	case tar.TypeReg:
		f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		if err := os.Chmod(dst, hdr.FileInfo().Mode()&^fs.ModeType); err != nil {
			return err
		}

		return os.Chtimes(dst, hdr.ModTime, hdr.ModTime)
	case tar.TypeSymlink:
		return os.Symlink(hdr.Linkname, dst)
	}
	return fmt.Errorf("unsupported entry type %q", hdr.Typeflag)
}

// cleanRel is name made relative and clean; names that climb out are an
// error.
func cleanRel(name string) (string, error) {
	p := path.Clean(strings.TrimPrefix(name, "/"))
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", fmt.Errorf("path %q leaves the context", name)
	}
	return p, nil
}
