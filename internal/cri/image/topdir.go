package image

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// fsTopDirFlag is FS_TOPDIR_FL (chattr +T), which x/sys/unix lacks.
const fsTopDirFlag = 0x00020000

// markTopDir marks dir, the parent of the snapshots, as the top of
// directory hierarchies for ext4's Orlov allocator: each snapshot then
// gets its inodes from a block group of its own with room, instead of
// its parent's. Each snapshot is an independent tree, and the parent's
// group is where the layers just removed lived: without a journal, ext4
// skips inodes freed in the last minutes one by one for every file it
// creates (find_inode_bit → recently_deleted), and unpacking the
// tutorial's Python layer there took 2–8 s of system time, 0.35–0.6 s in
// a group with none freed lately. Other filesystems refuse or ignore the
// flag, which is fine: it changes only where inodes go.
func markTopDir(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer unix.Close(fd)
	flags, err := unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
	if err != nil {
		return fmt.Errorf("flags of %s: %w", dir, err)
	}
	if flags&fsTopDirFlag != 0 {
		return nil
	}
	if err := unix.IoctlSetPointerInt(fd, unix.FS_IOC_SETFLAGS, int(flags|fsTopDirFlag)); err != nil {
		return fmt.Errorf("set top-dir flag of %s: %w", dir, err)
	}
	return nil
}

// makeSnapshotDir makes snapshot id's directory with the subdirectories
// subs. Under a top directory ext4 starts its search for a group at a
// hash of the new directory's name, and every store numbers its
// snapshots from 1: each store (every test's, every node's on a shared
// disk) would put its first snapshots into the groups where the last
// store's, just removed, were. So the directory is made under a random
// name and then renamed. A crash in between leaves a directory no record
// names, which Open removes.
func (s *Store) makeSnapshotDir(id int, subs ...string) (string, error) {
	tmp := filepath.Join(s.snapshotsDir(), ".new-"+strconv.FormatUint(rand.Uint64(), 36))
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return "", fmt.Errorf("snapshot dir: %w", err)
	}
	for _, d := range subs {
		if err := os.Mkdir(filepath.Join(tmp, d), 0o755); err != nil {
			os.RemoveAll(tmp)
			return "", fmt.Errorf("snapshot dir: %w", err)
		}
	}
	dir := s.snapshotDir(id)
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("snapshot dir: %w", err)
	}
	return dir, nil
}
