package image

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// An image volume: the image's files read-only, its layers kept while
// mounted even when the image is removed, all gone once it is removed.
func TestMountReadOnly(t *testing.T) {
	requireRoot(t)
	reg := newRegistry(t)
	few := []v1.Layer{mustLayer(t, F{Path: "bin/tool", Content: "v1"}), mustLayer(t, F{Path: "bin/tool", Content: "v2"})}
	var many []v1.Layer
	for i := range 120 {
		many = append(many, mustLayer(t, F{Path: fmt.Sprintf("f%03d", i), Content: "x"}, F{Path: "bin/tool", Content: fmt.Sprint(i)}))
	}
	for _, tc := range []struct {
		name   string
		layers []v1.Layer
		want   string
	}{
		{"two layers", few, "v2"},
		{"options past a page", many, "119"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mustPush(t, reg, "tools:1", mustImage(t, v1.Config{}, tc.layers...))
			s := newStore(t, Options{})
			ctx := context.Background()
			img, err := s.Pull(ctx, reg.Ref("tools:1"), nil)
			if err != nil {
				t.Fatal(err)
			}
			r := mustRootfs(t, s, "vol", img.ID)
			target := t.TempDir()
			if err := r.MountReadOnly(target); err != nil {
				t.Fatal(err)
			}
			defer Unmount(target)
			if err := s.Remove(img.ID); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, filepath.Join(target, "bin/tool")); got != tc.want {
				t.Errorf("bin/tool = %q, want %q", got, tc.want)
			}
			err = os.WriteFile(filepath.Join(target, "bin/new"), []byte("x"), 0o644)
			if !errors.Is(err, unix.EROFS) {
				t.Errorf("write into the volume: %v, want EROFS", err)
			}
			if ents, _ := os.ReadDir(r.Upper); len(ents) != 0 {
				t.Errorf("upper directory has %d entries, want none", len(ents))
			}
			if err := Unmount(target); err != nil {
				t.Fatal(err)
			}
			if err := s.RemoveRootfs("vol"); err != nil {
				t.Fatal(err)
			}
			if err := s.GC(); err != nil {
				t.Fatal(err)
			}
			if left := leftovers(t, s); len(left) != 0 {
				t.Errorf("after removing the volume: %v", left)
			}
		})
	}
}
