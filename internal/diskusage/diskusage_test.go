package diskusage

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestOf: du's figures for a tree with a 64 KiB file written twice over a
// hard link: counted once, with every directory and file an inode; a
// path that is not there is fs.ErrNotExist.
func TestOf(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "a", "b", "data")
	if err := os.WriteFile(f, make([]byte, 64<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(f, filepath.Join(dir, "a", "link")); err != nil {
		t.Fatal(err)
	}
	bytes, inodes, err := Of(dir)
	if err != nil {
		t.Fatal(err)
	}
	// dir, a, b and the file (its second link not again).
	if inodes != 4 {
		t.Errorf("inodes %d, want 4", inodes)
	}
	if bytes < 64<<10 || bytes >= 2*(64<<10) {
		t.Errorf("bytes %d, want the file's 64 KiB once (plus directories)", bytes)
	}
	if _, _, err := Of(filepath.Join(dir, "gone")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing path: %v, want fs.ErrNotExist", err)
	}
}

// TestFiles: the files directly in a directory count (a log file and its
// rotated copy), a subdirectory's do not; a missing directory is
// fs.ErrNotExist.
func TestFiles(t *testing.T) {
	dir := t.TempDir()
	for name, size := range map[string]int{"0.log": 64 << 10, "0.log.1": 64 << 10, "sub/big": 1 << 20} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bytes, inodes, err := Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	if inodes != 2 || bytes < 128<<10 || bytes >= 1<<20 {
		t.Errorf("bytes %d inodes %d, want the two logs' 128 KiB, 2 inodes", bytes, inodes)
	}
	if _, _, err := Files(filepath.Join(dir, "gone")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing directory: %v, want fs.ErrNotExist", err)
	}
}
