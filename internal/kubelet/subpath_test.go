package kubelet

import (
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestSubPathOf(t *testing.T) {
	env := map[string]string{"POD": "web-0", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for _, tc := range []struct {
		name string
		vm   corev1.VolumeMount
		want string
		err  string
	}{
		{"subPath", corev1.VolumeMount{SubPath: "a/b"}, "a/b", ""},
		{"expr", corev1.VolumeMount{SubPathExpr: "logs/$(POD)"}, "logs/web-0", ""},
		{"escaped dollar", corev1.VolumeMount{SubPathExpr: "$$(POD)"}, "$(POD)", ""},
		{"missing", corev1.VolumeMount{SubPathExpr: "$(NOPE)/$(EMPTY)/$(POD)"}, "", "missing value for EMPTY, NOPE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := subPathOf(&tc.vm, lookup)
			if got != tc.want || errText(err) != tc.err {
				t.Errorf("got %q, %v; want %q, %q", got, err, tc.want, tc.err)
			}
		})
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestSubPathHost makes and resolves subPaths in a real volume: a
// missing one is made with the volume root's mode, a symlink inside the
// volume is followed, and one that leads out of it is refused, whether
// it exists or would have to be made through the link.
func TestSubPathHost(t *testing.T) {
	vol, outside := t.TempDir(), t.TempDir()
	if err := os.Chmod(vol, os.ModeSetgid|0o770); err != nil {
		t.Fatal(err)
	}
	for _, l := range []struct{ target, name string }{
		{outside, "escape"}, {"../../../../../../..", "up"}, {"inner", "in"}, {"/etc/passwd", "passwd"},
	} {
		if err := os.Symlink(l.target, filepath.Join(vol, l.name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(vol, "inner"), 0o755); err != nil {
		t.Fatal(err)
	}
	const (
		prepare = `failed to prepare subPath for volumeMount "v" of container "c"`
		create  = `failed to create subPath directory for volumeMount "v" of container "c"`
	)
	for _, tc := range []struct {
		sub  string
		want string // relative to vol
		err  string
	}{
		{"new/dir", "new/dir", ""},
		{"inner", "inner", ""},
		{"in", "inner", ""},
		{"in/deeper", "inner/deeper", ""},
		{"escape", "", prepare},
		{"up", "", prepare},
		{"passwd", "", prepare},
		{"escape/made", "", create},
	} {
		t.Run(tc.sub, func(t *testing.T) {
			got, err := subPathHost(vol, tc.sub, "v", "c")
			if errText(err) != tc.err {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
			if tc.err != "" {
				return
			}
			if want, _ := filepath.EvalSymlinks(filepath.Join(vol, tc.want)); got != want {
				t.Errorf("host path %s, want %s", got, want)
			}
		})
	}
	if fi, err := os.Stat(filepath.Join(vol, "new")); err != nil || fi.Mode() != os.ModeDir|os.ModeSetgid|0o770 {
		t.Errorf("made subPath dir: %v %v, want the volume root's mode", fi.Mode(), err)
	}
	if _, err := os.Stat(filepath.Join(outside, "made")); !os.IsNotExist(err) {
		t.Errorf("a directory was made outside the volume: %v", err)
	}
	for _, sub := range []string{"/abs", "a/../../b"} {
		if err := checkSubPath(sub); err == nil {
			t.Errorf("subPath %q accepted", sub)
		}
	}
}
