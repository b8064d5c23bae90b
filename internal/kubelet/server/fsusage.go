package server

import (
	"fmt"

	"golang.org/x/sys/unix"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/diskusage"
)

// fsFigures are a filesystem's size and free space (in FsStats, with
// the time taken) and what is used of it.
type fsFigures struct {
	FsStats
	used, inodesUsed uint64
}

// statfs measures the filesystem path is on.
func statfs(path string) (fsFigures, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return fsFigures{}, fmt.Errorf("statfs %s: %w", path, err)
	}
	bs := uint64(st.Bsize)
	return fsFigures{
		FsStats: FsStats{Time: metav1.Now(), CapacityBytes: u64(st.Blocks * bs), AvailableBytes: u64(st.Bavail * bs),
			Inodes: u64(st.Files), InodesFree: u64(st.Ffree)},
		used: (st.Blocks - st.Bfree) * bs, inodesUsed: st.Files - st.Ffree,
	}, nil
}

// duStats are a volume directory's figures: its usage by du, its
// filesystem's size by statfs.
func duStats(dir string) (VolumeStats, error) {
	used, inodes, err := diskusage.Of(dir)
	if err != nil {
		return VolumeStats{}, err
	}
	fs, err := statfs(dir)
	if err != nil {
		return VolumeStats{}, err
	}
	fs.UsedBytes, fs.InodesUsed = u64(used), u64(inodes)
	return VolumeStats{FsStats: fs.FsStats}, nil
}
