package image

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// testUsernsPath makes a user namespace mapping 0..65535 to host IDs
// from 655360 (held by a process the test ends) and returns its path.
func testUsernsPath(t *testing.T) string {
	t.Helper()
	cmd := exec.Command("sleep", "300")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 655360, Size: 65536}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 655360, Size: 65536}}}
	if err := cmd.Start(); err != nil {
		t.Fatalf("user namespace: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return "/proc/" + strconv.Itoa(cmd.Process.Pid) + "/ns/user"
}

// TestMountIDMapped: through the idmapped layers the host root's files
// belong to the namespace's root (host 655360 seen from here), the
// upper directory is that root's, the layers on disk are unchanged, and
// nothing of the idmapped mounts stays once the overlay is up.
func TestMountIDMapped(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	r := Rootfs{Lower: []string{filepath.Join(dir, "l1"), filepath.Join(dir, "l0")}, Upper: filepath.Join(dir, "c", "upper"), Work: filepath.Join(dir, "c", "work")}
	for _, d := range append(append([]string{}, r.Lower...), r.Upper, r.Work) {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i, l := range r.Lower {
		if err := os.WriteFile(filepath.Join(l, "f"+string(rune('0'+i))), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	target := filepath.Join(dir, "c", "rootfs")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	userns := testUsernsPath(t)
	if err := r.MountIDMapped(target, userns, 655360, 655360); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Unmount(target) })
	for _, name := range []string{"f0", "f1"} {
		var st unix.Stat_t
		if err := unix.Stat(filepath.Join(target, name), &st); err != nil {
			t.Fatal(err)
		}
		if st.Uid != 655360 || st.Gid != 655360 {
			t.Errorf("%s through the overlay: owner %d:%d, want the namespace's root 655360:655360", name, st.Uid, st.Gid)
		}
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(r.Lower[0], "f0"), &st); err != nil || st.Uid != 0 {
		t.Errorf("the layer on disk: owner %d (%v), want 0", st.Uid, err)
	}
	if err := unix.Stat(r.Upper, &st); err != nil || st.Uid != 655360 {
		t.Errorf("upper directory: owner %d (%v), want 655360", st.Uid, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "c", idmapStage)); !os.IsNotExist(err) {
		t.Errorf("the idmapped layers' directory stayed: %v", err)
	}
	// The overlay's options still name them; no mount point may.
	b, _ := os.ReadFile("/proc/self/mountinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 4 && strings.Contains(f[4], idmapStage) {
			t.Errorf("an idmapped layer is still mounted: %s", l)
		}
	}
}

// TestRemoveIDMapStage: what a cut-short MountIDMapped leaves is
// unmounted before its directory goes, so the layer behind keeps its
// files.
func TestRemoveIDMapStage(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	layer := filepath.Join(dir, "layer")
	if err := os.MkdirAll(layer, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(layer, "keep"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := filepath.Join(dir, "c")
	ns, err := os.Open(testUsernsPath(t))
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	if err := os.MkdirAll(filepath.Join(c, idmapStage), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := idmappedBind(layer, filepath.Join(c, idmapStage, "0"), int(ns.Fd())); err != nil {
		t.Fatal(err)
	}
	if err := RemoveIDMapStage(c); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(c); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(layer, "keep")); err != nil {
		t.Errorf("the layer lost its file: %v", err)
	}
}
