// Package embedexe writes out the small helper executables kemudi
// embeds (the container supervisor, the standalone DNS server), so that
// a node needs nothing installed beyond the kemudi binary, and each
// helper runs without the whole of kemudi's package initialisation.
package embedexe

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// mode is executable by all (in a directory only root may enter): a
// pod's user namespace holder runs the supervisor as the pod's mapped
// root, who is not the host's.
const mode = 0o755

// Extract writes data to dir as name-<hash of data>, unless it is there
// already, and returns its path. Named by content, two kemudi versions
// never overwrite each other's; written whole and renamed into place, a
// racing process never runs half a file.
func Extract(dir, name string, data []byte) (string, error) {
	return extract(dir, name, data, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// ExtractGzip is Extract of what gz holds compressed (named by the hash
// of gz): a helper embedded so weighs a third.
func ExtractGzip(dir, name string, gz []byte) (string, error) {
	return extract(dir, name, gz, func(w io.Writer) error {
		r, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			return err
		}
		if _, err := io.Copy(w, r); err != nil {
			return err
		}
		return r.Close()
	})
}

func extract(dir, name string, key []byte, write func(io.Writer) error) (string, error) {
	sum := sha256.Sum256(key)
	p := filepath.Join(dir, name+"-"+hex.EncodeToString(sum[:8]))
	if st, err := os.Stat(p); err == nil {
		if st.Mode().Perm() != mode {
			// extracted by an earlier kemudi, 0700
			if err := os.Chmod(p, mode); err != nil {
				return "", fmt.Errorf("extract %s: %w", name, err)
			}
		}
		return p, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("extract %s: %w", name, err)
	}
	if err := writeAtomic(p, write); err != nil {
		return "", fmt.Errorf("extract %s: %w", name, err)
	}
	return p, nil
}

// RemoveOthers removes what Extract wrote to dir for name other than
// keep: older versions' copies, which nothing runs again once a newer
// kemudi replaced them (a process running one keeps its pages). Not for
// a helper that execs its own file again later, as the supervisor's
// keeper does.
func RemoveOthers(dir, name, keep string) {
	old, _ := filepath.Glob(filepath.Join(dir, name+"-*"))
	for _, p := range old {
		if p != keep {
			os.Remove(p)
		}
	}
}

// Place puts data at path, unless the file there holds it already,
// written whole and renamed into place: another process may be reading
// or building from the file there (tests put the helpers of the current
// sources where `go build ./cmd/kemudi` embeds them, as make does).
func Place(path string, data []byte) error {
	if have, err := os.ReadFile(path); err == nil && bytes.Equal(have, data) {
		return nil
	}
	return writeAtomic(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// writeAtomic writes path, executable, through a hidden temporary file
// beside it renamed into place: no one runs, embeds or reads half of it.
func writeAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Uncache drops the page cache of the executable at path, so that the
// processes that run it read it back a few pages at a time (mmap
// read-around makes 16 KiB folios). Just written (extracted, or
// linked), it is held in folios of up to 2 MiB, which every process that
// touches a byte of one maps whole, and which none can split while they
// share them (see exepages.Release): the supervisor's keeper and
// supervisor kept 7 MiB of it resident each, 2 to 5 MiB read back so.
// Only clean pages can be dropped, so it is written back first.
func Uncache(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return err
	}
	return unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}
