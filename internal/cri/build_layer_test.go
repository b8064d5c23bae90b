package cri

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/klauspost/compress/gzip"
	"golang.org/x/sys/unix"
)

// TestDiffLayer: an overlay upper directory becomes an OCI layer: files,
// links and directories as they are, 0/0 character devices as .wh.
// whiteouts, opaque directories with .wh..wh..opq, hard links once, and
// the empty mount points runc made left out, and with them the
// directories unchanged from the lower layers they alone brought up.
func TestDiffLayer(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: whiteouts are device nodes, opaque marks trusted xattrs")
	}
	upper := t.TempDir()
	mk := func(rel, content string) {
		p := filepath.Join(upper, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	mk("app/main.py", "print()")
	mk("etc/hosts", "")                             // runc's mount point
	os.Mkdir(filepath.Join(upper, "newdir"), 0o755) // made by the step: kept
	os.Link(filepath.Join(upper, "app/main.py"), filepath.Join(upper, "app/same.py"))
	os.Symlink("main.py", filepath.Join(upper, "app/link"))
	if err := unix.Mknod(filepath.Join(upper, "app/deleted"), unix.S_IFCHR, 0); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(upper, "var/cache"), 0o755)
	mk("var/cache/new", "n")
	if err := unix.Setxattr(filepath.Join(upper, "var/cache"), "trusted.overlay.opaque", []byte("y"), 0); err != nil {
		t.Skipf("no trusted xattrs here: %v", err)
	}
	os.Mkdir(filepath.Join(upper, "proc"), 0o755) // runc's mount point

	// etc is in the lower layer as it is in the upper one, where only
	// runc's mount point made it: left out.
	lower := t.TempDir()
	os.Mkdir(filepath.Join(lower, "etc"), 0o755)
	os.Chmod(filepath.Join(lower, "etc"), 0o755)
	os.Chmod(filepath.Join(upper, "etc"), 0o755)
	l, err := diffLayer(upper, []string{lower}, filepath.Join(t.TempDir(), "layer.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var got []string
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		e := hdr.Name
		switch hdr.Typeflag {
		case tar.TypeLink:
			e += " link to " + hdr.Linkname
		case tar.TypeSymlink:
			e += " -> " + hdr.Linkname
		}
		got = append(got, e)
	}
	want := []string{
		"app/", "app/.wh.deleted", "app/link -> main.py", "app/main.py", "app/same.py link to app/main.py",
		"newdir/",
		"var/", "var/cache/", "var/cache/.wh..wh..opq", "var/cache/new",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("layer holds\n%q\nwant\n%q", got, want)
	}
	// The digests and size are those of the bytes.
	raw, err := os.ReadFile(l.path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	plain, _ := io.ReadAll(zr)
	if d := fmt.Sprintf("%x", sha256.Sum256(raw)); d != l.digest.Hex || int64(len(raw)) != l.size {
		t.Errorf("digest %s size %d, the file's %s %d", l.digest.Hex, l.size, d, len(raw))
	}
	if d := fmt.Sprintf("%x", sha256.Sum256(plain)); d != l.diffID.Hex {
		t.Errorf("diff ID %s, the tar's %s", l.diffID.Hex, d)
	}
	empty := t.TempDir()
	if l, err := diffLayer(empty, nil, filepath.Join(t.TempDir(), "e.tar.gz")); err != nil || l != nil {
		t.Fatalf("an empty upper gives %v, %v; want no layer", l, err)
	}
}
