package build

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// Source is one file or directory a COPY or ADD copies.
type Source struct {
	Rel  string // as matched, relative to the root ("app/main.py")
	Path string // on this machine, symlinks resolved inside the root
}

// Sources resolves COPY/ADD source patterns (globs as filepath.Match)
// against root (the extracted context, or a stage's mounted rootfs): the
// matches in order, each resolved with symlinks kept inside root (a link
// to /etc in the context is the context's etc, never the host's). A
// pattern matching nothing is an error naming it.
func Sources(root string, patterns []string) ([]Source, error) {
	var out []Source
	for _, p := range patterns {
		rel := path.Clean("/" + filepath.ToSlash(p))[1:]
		if rel == "" {
			rel = "."
		}
		rels := []string{rel}
		if strings.ContainsAny(rel, "*?[\\") {
			dir, err := securejoin.SecureJoin(root, path.Dir(rel))
			if err != nil {
				return nil, fmt.Errorf("%q: %w", p, err)
			}
			matches, err := filepath.Glob(filepath.Join(dir, path.Base(rel)))
			if err != nil {
				return nil, fmt.Errorf("%q: %w", p, err)
			}
			if len(matches) == 0 {
				return nil, fmt.Errorf("%q: no file in the build context matches", p)
			}
			sort.Strings(matches)
			rels = rels[:0]
			for _, m := range matches {
				r, err := filepath.Rel(root, m)
				if err != nil {
					return nil, fmt.Errorf("%q: %w", p, err)
				}
				rels = append(rels, filepath.ToSlash(r))
			}
		}
		for _, r := range rels {
			resolved, err := securejoin.SecureJoin(root, r)
			if err != nil {
				return nil, fmt.Errorf("%q: %w", p, err)
			}
			if _, err := os.Lstat(resolved); err != nil {
				return nil, fmt.Errorf("%q: not found in the build context", p)
			}
			out = append(out, Source{Rel: r, Path: resolved})
		}
	}
	return out, nil
}

// HashSources is a digest of the sources: every file's path, type, mode, symlink target and content, so that
// a change to any of them changes the cache key of the COPY.
func HashSources(srcs []Source) (string, error) {
	h := sha256.New()
	for _, src := range srcs {
		fmt.Fprintf(h, "source %s\x00", src.Rel)
		err := filepath.WalkDir(src.Path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			r, _ := filepath.Rel(src.Path, p)
			fmt.Fprintf(h, "%s\x00%o\x00", filepath.ToSlash(r), info.Mode())
			switch {
			case info.Mode()&fs.ModeSymlink != 0:
				t, err := os.Readlink(p)
				if err != nil {
					return err
				}
				fmt.Fprintf(h, "%s\x00", t)
			case info.Mode().IsRegular():
				f, err := os.Open(p)
				if err != nil {
					return err
				}
				fmt.Fprintf(h, "%d\x00", info.Size())
				_, err = io.Copy(h, f)
				f.Close()
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("hash %s: %w", src.Rel, err)
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// Key is the cache key of a step: the key of what it starts from (the
// previous step's, or the base image's ID) and everything the step
// depends on (its instruction with variables expanded, the build args it
// sees, the digest of its sources).
func Key(parent string, parts ...string) string {
	h := sha256.New()
	io.WriteString(h, parent)
	for _, p := range parts {
		h.Write([]byte{0})
		io.WriteString(h, p)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
