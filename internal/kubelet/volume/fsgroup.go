package volume

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	corev1 "k8s.io/api/core/v1"
)

// Upstream's group permissions for a pod's fsGroup: read-write, or read
// only on a read-only volume; directories also searchable.
const (
	groupRW   os.FileMode = 0o060
	groupRO   os.FileMode = 0o040
	groupExec os.FileMode = 0o010
)

// groupMode is the mode a file of a volume gets for the pod's fsGroup:
// its own plus group read (and write unless the volume is read-only),
// plus search and setgid on directories, so that files made later
// inherit the group. Symlinks keep theirs.
func groupMode(mode os.FileMode, readOnly bool) os.FileMode {
	if mode&os.ModeSymlink != 0 {
		return mode
	}
	add := groupRW
	if readOnly {
		add = groupRO
	}
	if mode.IsDir() {
		add |= groupExec | os.ModeSetgid
	}
	return mode | add
}

// rootMatches is fsGroupChangePolicy OnRootMismatch's test: the volume's
// root directory already has the group, setgid and the group's
// permissions, so the walk is skipped.
func rootMatches(mode os.FileMode, gid uint32, fsGroup int64, readOnly bool) bool {
	if int64(gid) != fsGroup || !mode.IsDir() {
		return false
	}
	want := groupMode(os.ModeDir, readOnly)
	return mode&want == want
}

// setOwnership gives dir's tree to fsGroup as upstream's kubelet does
// for the volumes that support ownership management: every file's group
// (symlinks themselves, not followed), and groupMode's permissions. With
// policy OnRootMismatch a root already in order is left alone. Files
// that refuse a change are skipped, as upstream only logs them.
func setOwnership(dir string, fsGroup *int64, policy *corev1.PodFSGroupChangePolicy, readOnly bool) error {
	if fsGroup == nil {
		return nil
	}
	if policy != nil && *policy == corev1.FSGroupChangeOnRootMismatch {
		if fi, err := os.Stat(dir); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok && rootMatches(fi.Mode(), st.Gid, *fsGroup, readOnly) {
				return nil
			}
		}
	}
	var failed []error
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if err := os.Lchown(p, -1, int(*fsGroup)); err != nil {
			failed = append(failed, err)
		}
		if m := groupMode(info.Mode(), readOnly); m != info.Mode() {
			if err := os.Chmod(p, m); err != nil {
				failed = append(failed, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("set fsGroup %d on %s: %w", *fsGroup, dir, err)
	}
	return errors.Join(failed...)
}
