package volume

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

func TestGroupMode(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mode     os.FileMode
		readOnly bool
		want     os.FileMode
	}{
		{"file", 0o600, false, 0o660},
		{"file read-only volume", 0o600, true, 0o640},
		{"dir", os.ModeDir | 0o700, false, os.ModeDir | os.ModeSetgid | 0o770},
		{"dir read-only volume", os.ModeDir | 0o755, true, os.ModeDir | os.ModeSetgid | 0o755},
		{"executable keeps its bits", 0o755, false, 0o775},
		{"symlink untouched", os.ModeSymlink | 0o777, false, os.ModeSymlink | 0o777},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := groupMode(tc.mode, tc.readOnly); got != tc.want {
				t.Errorf("groupMode(%v, ro=%v) = %v, want %v", tc.mode, tc.readOnly, got, tc.want)
			}
		})
	}
}

func TestRootMatches(t *testing.T) {
	dir := os.ModeDir
	for _, tc := range []struct {
		name     string
		mode     os.FileMode
		gid      uint32
		readOnly bool
		want     bool
	}{
		{"in order", dir | os.ModeSetgid | 0o770, 2000, false, true},
		{"more than needed", dir | os.ModeSetgid | 0o777, 2000, false, true},
		{"other group", dir | os.ModeSetgid | 0o770, 0, false, false},
		{"no setgid", dir | 0o770, 2000, false, false},
		{"group cannot write", dir | os.ModeSetgid | 0o750, 2000, false, false},
		{"read-only needs no write", dir | os.ModeSetgid | 0o750, 2000, true, true},
		{"a file root", os.ModeSetgid | 0o770, 2000, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rootMatches(tc.mode, tc.gid, 2000, tc.readOnly); got != tc.want {
				t.Errorf("rootMatches(%v, gid %d) = %v, want %v", tc.mode, tc.gid, got, tc.want)
			}
		})
	}
}

func needRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing a file's group to any gid needs root")
	}
}

// stat is a path's group and mode (not following a symlink).
func stat(t *testing.T, p string) (uint32, os.FileMode) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Gid, fi.Mode()
}

// TestSetOwnership changes a real tree's group: files and directories
// get the group and its permissions, directories setgid, a symlink its
// group but not its target's; OnRootMismatch leaves a root in order alone.
func TestSetOwnership(t *testing.T) {
	needRoot(t)
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.WriteFile(outside, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "f"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := setOwnership(dir, ptr.To[int64](2000), nil, false); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{
		dir:                         os.ModeDir | os.ModeSetgid | 0o770,
		filepath.Join(dir, "sub"):   os.ModeDir | os.ModeSetgid | 0o770,
		filepath.Join(dir, "sub/f"): 0o660,
		filepath.Join(dir, "link"):  os.ModeSymlink | 0o777,
		outside:                     0o600,
	} {
		gid, mode := stat(t, p)
		wantGid := uint32(2000)
		if p == outside {
			wantGid = 0
		}
		if gid != wantGid || mode != want {
			t.Errorf("%s: gid %d mode %v, want gid %d mode %v", p, gid, mode, wantGid, want)
		}
	}

	// OnRootMismatch: the root is in order, so a file changed since
	// is left as it is; Always walks again.
	f := filepath.Join(dir, "sub/f")
	if err := os.Chown(f, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := setOwnership(dir, ptr.To[int64](2000), ptr.To(corev1.FSGroupChangeOnRootMismatch), false); err != nil {
		t.Fatal(err)
	}
	if gid, _ := stat(t, f); gid != 0 {
		t.Errorf("OnRootMismatch with the root in order changed %s to gid %d", f, gid)
	}
	if err := setOwnership(dir, ptr.To[int64](2000), ptr.To(corev1.FSGroupChangeAlways), false); err != nil {
		t.Fatal(err)
	}
	if gid, _ := stat(t, f); gid != 2000 {
		t.Errorf("Always left %s with gid %d", f, gid)
	}
	// Another fsGroup: the root mismatches and the tree is walked.
	if err := setOwnership(dir, ptr.To[int64](3000), ptr.To(corev1.FSGroupChangeOnRootMismatch), false); err != nil {
		t.Fatal(err)
	}
	if gid, _ := stat(t, f); gid != 3000 {
		t.Errorf("OnRootMismatch with another group left %s with gid %d", f, gid)
	}
}

// TestSetUpFSGroup sets up a pod's volumes with an fsGroup: an emptyDir
// and a local claim get the group (rw), a configMap's files the group
// with read only, a hostPath nothing, and a claim mounted readOnly is
// left as it is.
func TestSetUpFSGroup(t *testing.T) {
	needRoot(t)
	local, host, roData := t.TempDir(), t.TempDir(), t.TempDir()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: "ns"}, Data: map[string]string{"k": "v"}}
	client := fake.NewClientset(cm, boundClaim("data", "pv1"), localPV("pv1", "data", local),
		boundClaim("ro", "pv2"), localPV("pv2", "ro", roData))
	m := New(t.TempDir(), client, slog.New(slog.NewTextHandler(io.Discard, nil)))
	pod := claimPod(
		corev1.Volume{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		corev1.Volume{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, DefaultMode: ptr.To[int32](0o600)}}},
		corev1.Volume{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: host}}},
		pvcVolume("data", "data", false), pvcVolume("ro", "ro", true))
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{FSGroup: ptr.To[int64](2000)}
	got, err := m.SetUp(context.Background(), pod, Env{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		gid  uint32
		mode os.FileMode // the bits that must be set
	}{
		{got["tmp"].Path, 2000, os.ModeSetgid | 0o070},
		{local, 2000, os.ModeSetgid | 0o070},
		{filepath.Join(got["cfg"].Path, "k"), 2000, 0o640},
		{host, 0, 0},
		{roData, 0, 0},
	} {
		gid, mode := stat(t, tc.path)
		if tc.path == filepath.Join(got["cfg"].Path, "k") {
			fi, err := os.Stat(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			gid, mode = fi.Sys().(*syscall.Stat_t).Gid, fi.Mode()
			if mode.Perm() != 0o640 {
				t.Errorf("configMap file mode %v, want 0640 (0600 and group read)", mode)
			}
		}
		if gid != tc.gid || mode&tc.mode != tc.mode {
			t.Errorf("%s: gid %d mode %v, want gid %d with %v", tc.path, gid, mode, tc.gid, tc.mode)
		}
	}
	if !got["cfg"].ReadOnly || got["tmp"].ReadOnly || got["data"].ReadOnly || !got["ro"].ReadOnly {
		t.Errorf("read-only flags: %+v", got)
	}
	// A second sync rewrites nothing: the configMap's files compare equal
	// with their group read bit.
	before, _ := os.Readlink(filepath.Join(got["cfg"].Path, "..data"))
	if _, err := m.SetUp(context.Background(), pod, Env{}); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.Readlink(filepath.Join(got["cfg"].Path, "..data")); after != before {
		t.Errorf("unchanged configMap rewritten: %s -> %s", before, after)
	}
}
