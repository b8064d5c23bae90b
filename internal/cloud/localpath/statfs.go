package localpath

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// statfsFree is the space an unprivileged user may still take on the
// filesystem holding dir (df's Avail).
func statfsFree(dir string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return st.Bavail * uint64(st.Bsize), nil
}
