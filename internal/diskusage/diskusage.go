// Package diskusage measures the space a directory tree takes on disk, as
// du does: the kubelet's volume and log figures and the runtime's
// writable layers are measured the same way.
package diskusage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Of is du's figure for path: the 512-byte blocks allocated to it
// and everything under it, and the inodes, hard links counted once,
// without going into other filesystems mounted below.
func Of(path string) (bytes, inodes uint64, err error) {
	var top unix.Stat_t
	if err := unix.Lstat(path, &top); err != nil {
		return 0, 0, fmt.Errorf("du %s: %w", path, err)
	}
	linked := map[uint64]bool{}
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			// Removed while walked.
			return nil
		}
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			if errors.Is(err, unix.ENOENT) {
				return nil
			}
			return fmt.Errorf("stat %s: %w", p, err)
		}
		if st.Dev != top.Dev {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if st.Nlink > 1 && !d.IsDir() {
			if linked[st.Ino] {
				return nil
			}
			linked[st.Ino] = true
		}
		bytes += uint64(st.Blocks) * 512
		inodes++
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("du %s: %w", path, err)
	}
	return bytes, inodes, nil
}

// Files is the usage of the files directly in dir, not of its
// subdirectories: a pod's or a container's log files.
func Files(dir string) (bytes, inodes uint64, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0, err
	}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		b, n, err := Of(filepath.Join(dir, e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, 0, err
		}
		bytes += b
		inodes += n
	}
	return bytes, inodes, nil
}
