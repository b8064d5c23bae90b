package volume

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestTearDownKeepsPersistentData removes a pod whose directory reaches
// a local volume's data through a symlink and a bind mount left behind
// (as a crashed kubelet might leave one): the pod's directory goes, the
// volume's data stays.
func TestTearDownKeepsPersistentData(t *testing.T) {
	needRoot(t)
	pv := t.TempDir()
	if err := os.WriteFile(filepath.Join(pv, "keep"), []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := New(t.TempDir(), nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	pod := m.PodDir("uid1")
	bind := filepath.Join(pod, "volumes", "kubernetes.io~local-volume", "pv1")
	if err := os.MkdirAll(bind, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(pv, filepath.Join(pod, "link")); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(pv, bind, "", unix.MS_BIND, ""); err != nil {
		t.Fatalf("bind mount: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(bind, unix.MNT_DETACH) })
	if err := m.TearDown("uid1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(pod); !os.IsNotExist(err) {
		t.Errorf("pod dir still there: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(pv, "keep")); err != nil || string(b) != "data" {
		t.Errorf("the volume's data after the pod's removal: %q, %v", b, err)
	}
	if err := m.TearDown("uid1"); err != nil {
		t.Errorf("removing a pod already gone: %v", err)
	}
}
