package image

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kemudi/kemudi/internal/testimages"
)

type F = testimages.File

// unpackFiles unpacks files into outer/root and returns root.
func unpackFiles(t *testing.T, outer string, opts unpackOptions, files ...F) (string, error) {
	t.Helper()
	b, err := testimages.LayerTar(files...)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(outer, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	return root, unpackLayer(bytes.NewReader(b), root, opts)
}

func lstat(t *testing.T, p string) *unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatalf("lstat %s: %v", p, err)
	}
	return &st
}

func TestUnpackLayer(t *testing.T) {
	requireRoot(t)
	mtime := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	lower := []F{
		{Path: "etc", Type: tar.TypeDir, Mode: 0o750, UID: 7, GID: 8},
		{Path: "etc/shadow", Content: "secret", Mode: 0o600},
	}
	tests := []struct {
		name    string
		files   []F
		lower   []F // unpacked first, as the only parent
		devices bool
		wantErr string
		check   func(t *testing.T, root string)
	}{{
		name: "file attributes kept",
		files: []F{{Path: "bin/app", Content: "#!", Mode: 0o4755, UID: 1000, GID: 1001, ModTime: mtime,
			Xattrs: map[string]string{"user.note": "hi", "trusted.overlay.redirect": "/etc"}}},
		check: func(t *testing.T, root string) {
			st := lstat(t, filepath.Join(root, "bin/app"))
			if st.Mode&0o7777 != 0o4755 || st.Uid != 1000 || st.Gid != 1001 || st.Mtim.Sec != mtime.Unix() {
				t.Errorf("bin/app: mode %o uid %d gid %d mtime %d", st.Mode&0o7777, st.Uid, st.Gid, st.Mtim.Sec)
			}
			if got := readFile(t, filepath.Join(root, "bin/app")); got != "#!" {
				t.Errorf("content %q", got)
			}
			buf := make([]byte, 16)
			if n, err := unix.Lgetxattr(filepath.Join(root, "bin/app"), "user.note", buf); err != nil || string(buf[:n]) != "hi" {
				t.Errorf("user.note = %q, %v", buf[:n], err)
			}
			if _, err := unix.Lgetxattr(filepath.Join(root, "bin/app"), "trusted.overlay.redirect", buf); err == nil {
				t.Error("an overlay xattr from the layer was applied")
			}
		},
	}, {
		name:  "directory attributes and times set after its content",
		files: []F{{Path: "d", Type: tar.TypeDir, Mode: 0o711, ModTime: mtime, UID: 3}, {Path: "d/f", Content: "x"}},
		check: func(t *testing.T, root string) {
			st := lstat(t, filepath.Join(root, "d"))
			if st.Mode&0o7777 != 0o711 || st.Mtim.Sec != mtime.Unix() || st.Uid != 3 {
				t.Errorf("d: mode %o mtime %d uid %d", st.Mode&0o7777, st.Mtim.Sec, st.Uid)
			}
		},
	}, {
		name:  "symlink and hard link",
		files: []F{{Path: "a", Content: "A"}, {Path: "l", Type: tar.TypeSymlink, Link: "/a"}, {Path: "h", Type: tar.TypeLink, Link: "a"}},
		check: func(t *testing.T, root string) {
			if l, err := os.Readlink(filepath.Join(root, "l")); err != nil || l != "/a" {
				t.Errorf("symlink: %q %v", l, err)
			}
			if lstat(t, filepath.Join(root, "h")).Ino != lstat(t, filepath.Join(root, "a")).Ino {
				t.Error("hard link is not the same inode")
			}
		},
	}, {
		name:  "hard link to a lower layer's file becomes a copy",
		lower: lower,
		files: []F{{Path: "etc/shadow2", Type: tar.TypeLink, Link: "etc/shadow"}},
		check: func(t *testing.T, root string) {
			if got := readFile(t, filepath.Join(root, "etc/shadow2")); got != "secret" {
				t.Errorf("copy has %q", got)
			}
			// etc has no entry in this layer: it keeps the lower's owner and mode.
			st := lstat(t, filepath.Join(root, "etc"))
			if st.Mode&0o7777 != 0o750 || st.Uid != 7 || st.Gid != 8 {
				t.Errorf("implied etc: mode %o uid %d gid %d", st.Mode&0o7777, st.Uid, st.Gid)
			}
		},
	}, {
		name:  "whiteout and opaque directory",
		files: []F{{Path: "etc/.wh.shadow"}, {Path: "var/.wh..wh..opq"}, {Path: "var/keep", Content: "k"}},
		check: func(t *testing.T, root string) {
			st := lstat(t, filepath.Join(root, "etc/shadow"))
			if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
				t.Errorf("whiteout: mode %o rdev %d", st.Mode, st.Rdev)
			}
			if _, err := os.Lstat(filepath.Join(root, "etc/.wh.shadow")); err == nil {
				t.Error(".wh. file kept")
			}
			buf := make([]byte, 4)
			if n, err := unix.Lgetxattr(filepath.Join(root, "var"), "trusted.overlay.opaque", buf); err != nil || string(buf[:n]) != "y" {
				t.Errorf("opaque xattr %q %v", buf[:n], err)
			}
			if readFile(t, filepath.Join(root, "var/keep")) != "k" {
				t.Error("opaque dir lost this layer's file")
			}
		},
	}, {
		name:    "device node allowed",
		devices: true,
		files:   []F{{Path: "dev/null", Type: tar.TypeChar, Major: 1, Minor: 3, Mode: 0o666}},
		check: func(t *testing.T, root string) {
			st := lstat(t, filepath.Join(root, "dev/null"))
			if st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != 1 || unix.Minor(st.Rdev) != 3 {
				t.Errorf("dev/null: mode %o rdev %d", st.Mode, st.Rdev)
			}
		},
	}, {
		name:  "absolute entry names are relative to the root",
		files: []F{{Path: "/abs/f", Content: "x"}, {Path: "./rel/../g", Content: "y"}},
		check: func(t *testing.T, root string) {
			if readFile(t, filepath.Join(root, "abs/f")) != "x" || readFile(t, filepath.Join(root, "g")) != "y" {
				t.Error("wrong placement")
			}
		},
	}, {
		name:  "a later entry replaces an earlier one",
		files: []F{{Path: "x", Type: tar.TypeDir}, {Path: "x/y", Content: "1"}, {Path: "x", Content: "file now"}},
		check: func(t *testing.T, root string) {
			if readFile(t, filepath.Join(root, "x")) != "file now" {
				t.Error("not replaced")
			}
		},
	}, {
		// The fast path keeps what a new file happens to get only when it
		// is what the entry says: a setgid directory gives its group to
		// new files, and a mode the umask narrows is set again.
		name: "owner and mode exact in a setgid directory",
		files: []F{{Path: "shared", Type: tar.TypeDir, Mode: 0o2775, GID: 50},
			{Path: "shared/root-owned", Content: "r", Mode: 0o664},
			{Path: "shared/own", Content: "o", Mode: 0o640, UID: 5, GID: 50}},
		check: func(t *testing.T, root string) {
			if st := lstat(t, filepath.Join(root, "shared/root-owned")); st.Gid != 0 || st.Uid != 0 || st.Mode&0o7777 != 0o664 {
				t.Errorf("shared/root-owned: uid %d gid %d mode %o, want 0 0 664", st.Uid, st.Gid, st.Mode&0o7777)
			}
			if st := lstat(t, filepath.Join(root, "shared/own")); st.Gid != 50 || st.Uid != 5 || st.Mode&0o7777 != 0o640 {
				t.Errorf("shared/own: uid %d gid %d mode %o, want 5 50 640", st.Uid, st.Gid, st.Mode&0o7777)
			}
		},
	}, {
		name: "files across directories, back and forth",
		files: []F{{Path: "a/1", Content: "a1"}, {Path: "b/1", Content: "b1"}, {Path: "a/2", Content: "a2"},
			{Path: "a", Type: tar.TypeSymlink, Link: "b"}, {Path: "b/2", Content: "b2"}},
		check: func(t *testing.T, root string) {
			if readFile(t, filepath.Join(root, "b/1")) != "b1" || readFile(t, filepath.Join(root, "b/2")) != "b2" {
				t.Error("b's files")
			}
			if st := lstat(t, filepath.Join(root, "a")); st.Mode&unix.S_IFMT != unix.S_IFLNK {
				t.Error("a is not the symlink the layer ends with")
			}
		},
	},
		{name: "device node refused", files: []F{{Path: "dev/sda", Type: tar.TypeBlock, Major: 8}}, wantErr: "device nodes are not allowed"},
		{name: "dot-dot escape", files: []F{{Path: "../outside", Content: "x"}}, wantErr: "escapes"},
		{name: "nested dot-dot escape", files: []F{{Path: "a/../../outside", Content: "x"}}, wantErr: "escapes"},
		{name: "through an absolute symlink", files: []F{{Path: "lib", Type: tar.TypeSymlink, Link: "/"}, {Path: "lib/outside", Content: "x"}}, wantErr: "symbolic link"},
		{name: "through a relative symlink", files: []F{{Path: "up", Type: tar.TypeSymlink, Link: ".."}, {Path: "up/outside", Content: "x"}}, wantErr: "symbolic link"},
		{name: "through a symlink inside", files: []F{{Path: "d", Type: tar.TypeDir}, {Path: "l", Type: tar.TypeSymlink, Link: "d"}, {Path: "l/f", Content: "x"}}, wantErr: "symbolic link"},
		{name: "hard link out", files: []F{{Path: "h", Type: tar.TypeLink, Link: "../outside"}}, wantErr: "escapes"},
		{name: "hard link through a symlink", files: []F{{Path: "l", Type: tar.TypeSymlink, Link: "/etc"}, {Path: "h", Type: tar.TypeLink, Link: "l/passwd"}}, wantErr: "symbolic link"},
		{name: "whiteout through a symlink", files: []F{{Path: "l", Type: tar.TypeSymlink, Link: "/"}, {Path: "l/.wh.outside"}}, wantErr: "symbolic link"},
		{name: "opaque through a symlink", files: []F{{Path: "l", Type: tar.TypeSymlink, Link: ".."}, {Path: "l/.wh..wh..opq"}}, wantErr: "symbolic link"},
		{name: "root not a directory", files: []F{{Path: ".", Content: "x"}}, wantErr: "root must be a directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			outer := t.TempDir()
			if err := os.WriteFile(filepath.Join(outer, "outside"), []byte("untouched"), 0o644); err != nil {
				t.Fatal(err)
			}
			opts := unpackOptions{AllowDevices: tc.devices}
			if tc.lower != nil {
				lowerDir := t.TempDir()
				lroot, err := unpackFiles(t, lowerDir, unpackOptions{}, tc.lower...)
				if err != nil {
					t.Fatal(err)
				}
				opts.Parents = []string{lroot}
			}
			root, err := unpackFiles(t, outer, opts, tc.files...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			// Whatever the layer said, nothing outside its root changed.
			ents, _ := os.ReadDir(outer)
			if len(ents) != 2 || readFile(t, filepath.Join(outer, "outside")) != "untouched" {
				t.Errorf("outside the root: %v", ents)
			}
			if tc.check != nil {
				tc.check(t, root)
			}
		})
	}
}
