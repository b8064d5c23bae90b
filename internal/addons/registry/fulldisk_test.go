package registry_test

import (
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrv1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/kemudi/kemudi/internal/testimages"
)

// TestFullDisk: a push that fills the registry's filesystem (a 12 MiB
// tmpfs) fails with an error, the image pushed before is intact, and the
// failed upload's space is freed for the next push.
func TestFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	storage := filepath.Join(t.TempDir(), "storage")
	os.MkdirAll(storage, 0o700)
	if err := syscall.Mount("tmpfs", storage, "tmpfs", 0, "size=12m"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(storage, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", storage, err)
		}
	})
	r := startRegistry(t, fixtureOptions{storage: storage, gcInterval: -1})
	small, err := testimages.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	if err := pushAsAdmin(r, r.host+"/a/small:1", small); err != nil {
		t.Fatalf("push the small image: %v", err)
	}
	// 16 MiB that do not compress: more than the disk holds.
	noise := make([]byte, 16<<20)
	rand.Read(noise)
	layer, err := testimages.Layer(testimages.File{Path: "noise", Content: string(noise)})
	if err != nil {
		t.Fatal(err)
	}
	big, err := testimages.Image(ggcrv1.Config{Cmd: []string{"true"}}, layer)
	if err != nil {
		t.Fatal(err)
	}
	err = pushAsAdmin(r, r.host+"/a/big:1", big)
	if err == nil {
		t.Fatal("pushing 16 MiB onto a 12 MiB disk succeeded")
	}
	if !strings.Contains(err.Error(), "no space left on device") {
		t.Errorf("push onto a full disk: %v, want it to say no space left on device", err)
	}

	// The failed upload's data is gone: the disk takes the next push.
	next, err := testimages.Image(ggcrv1.Config{Cmd: []string{"next"}}, must(testimages.Layer(testimages.File{Path: "next", Content: "after the full disk"})))
	if err != nil {
		t.Fatal(err)
	}
	if err := pushAsAdmin(r, r.host+"/a/next:1", next); err != nil {
		t.Errorf("a push after the failed one: %v", err)
	}
	ref, _ := name.ParseReference(r.host + "/a/small:1")
	got, err := remote.Image(ref, remote.WithAuth(&authn.Basic{Username: "admin", Password: r.password}), remote.WithTransport(r.client().Transport))
	if err != nil {
		t.Fatalf("the image pushed before: %v", err)
	}
	layers, err := got.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		// Reading verifies the digest.
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			t.Fatalf("a layer of the image pushed before: %v", err)
		}
	}
	if _, err := remote.Image(must(name.ParseReference(r.host+"/a/big:1")), remote.WithAuth(&authn.Basic{Username: "admin", Password: r.password}), remote.WithTransport(r.client().Transport)); err == nil || !strings.Contains(err.Error(), "MANIFEST_UNKNOWN") {
		t.Errorf("the image whose push failed: %v, want MANIFEST_UNKNOWN", err)
	}
}
