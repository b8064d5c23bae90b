package image

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSnapshotsTopDir: on a filesystem with inode flags (ext4), the
// store's snapshots directory is marked as a top of directory
// hierarchies (lsattr shows T), so that each snapshot's inodes come from
// a block group of its own; elsewhere the store opens all the same.
func TestSnapshotsTopDir(t *testing.T) {
	probe := t.TempDir()
	if err := markTopDir(probe); err != nil {
		t.Skipf("the filesystem of %s takes no top-dir flag: %v", probe, err)
	}
	s := newStore(t, Options{})
	fd, err := unix.Open(s.snapshotsDir(), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	flags, err := unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
	if err != nil {
		t.Fatal(err)
	}
	if flags&fsTopDirFlag == 0 {
		t.Errorf("snapshots dir flags %#x, want the top-dir flag %#x", flags, fsTopDirFlag)
	}
	// Opening again keeps it (and does not fail on it).
	if _, err := Open(Options{Root: s.root, Log: s.log}); err != nil {
		t.Fatal(err)
	}
}

// TestSnapshotDirLeftover: a snapshot directory made under its temporary
// name and never renamed (a crash in between) is gone when the store
// opens again; a made one is named by its number.
func TestSnapshotDirLeftover(t *testing.T) {
	s := newStore(t, Options{})
	dir, err := s.makeSnapshotDir(7, "fs", "work")
	if err != nil {
		t.Fatal(err)
	}
	if dir != filepath.Join(s.snapshotsDir(), "7") {
		t.Errorf("snapshot dir %s, want snapshots/7", dir)
	}
	for _, d := range []string{"fs", "work"} {
		if fi, err := os.Stat(filepath.Join(dir, d)); err != nil || !fi.IsDir() {
			t.Errorf("%s: %v", d, err)
		}
	}
	left := filepath.Join(s.snapshotsDir(), ".new-crashed")
	if err := os.MkdirAll(filepath.Join(left, "fs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Options{Root: s.root, Log: s.log}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Errorf("leftover %s after Open: %v", left, err)
	}
}
