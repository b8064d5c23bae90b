package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kemudi/kemudi/internal/testimages"
)

func TestImport(t *testing.T) {
	requireRoot(t)
	bb, err := testimages.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	app := mustImage(t, v1.Config{Cmd: []string{"/app"}}, mustLayer(t, F{Path: "app", Content: "app", Mode: 0o755}))
	bbID, _ := bb.ConfigName()
	appID, _ := app.ConfigName()
	appDigest := digestOf(t, app)

	tests := []struct {
		name    string
		archive func(*bytes.Buffer) error
		want    map[string][]string // ID -> tags
		digests map[string][]string
	}{{
		name: "docker archive",
		archive: func(b *bytes.Buffer) error {
			return testimages.DockerArchive(b, map[string]v1.Image{"busybox:latest": bb, "registry.local:5000/app:1": app})
		},
		want: map[string][]string{bbID.String(): {"docker.io/library/busybox:latest"}, appID.String(): {"registry.local:5000/app:1"}},
	}, {
		name:    "docker save (uncompressed layers)",
		archive: func(b *bytes.Buffer) error { return dockerSave(b, "busybox:latest", bb) },
		want:    map[string][]string{bbID.String(): {"docker.io/library/busybox:latest"}},
	}, {
		name: "OCI layout",
		archive: func(b *bytes.Buffer) error {
			return testimages.OCIArchive(b, map[string]v1.Image{"docker.io/library/busybox:latest": bb, "registry.local:5000/app:1": app})
		},
		want: map[string][]string{bbID.String(): {"docker.io/library/busybox:latest"}, appID.String(): {"registry.local:5000/app:1"}},
		digests: map[string][]string{
			appID.String(): {"registry.local:5000/app@" + appDigest},
			bbID.String():  {"docker.io/library/busybox@" + digestOf(t, bb)},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tc.archive(&buf); err != nil {
				t.Fatal(err)
			}
			s := newStore(t, Options{})
			imgs, err := s.Import(context.Background(), &buf)
			if err != nil {
				t.Fatal(err)
			}
			if len(imgs) != len(tc.want) || len(s.List()) != len(tc.want) {
				t.Fatalf("imported %d images", len(imgs))
			}
			for _, img := range s.List() {
				if !slices.Equal(img.RepoTags, tc.want[img.ID]) {
					t.Errorf("%s tags %v, want %v", img.ID, img.RepoTags, tc.want[img.ID])
				}
				if tc.digests != nil && !slices.Equal(img.RepoDigests, tc.digests[img.ID]) {
					t.Errorf("%s digests %v, want %v", img.ID, img.RepoDigests, tc.digests[img.ID])
				}
			}
			// "busybox" is docker.io/library/busybox:latest, as with docker.
			got, err := s.Get("busybox")
			if err != nil || got.ID != bbID.String() {
				t.Fatalf("Get(busybox) = %s, %v", got.ID, err)
			}
			target := mount(t, mustRootfs(t, s, "bb", got.ID))
			if l, err := os.Readlink(filepath.Join(target, "bin/sh")); err != nil || l != "busybox" {
				t.Errorf("bin/sh -> %q, %v", l, err)
			}
			// The image is a working root filesystem.
			cmd := exec.Command("/bin/sh", "-c", "echo hi from $(id -u) > /tmp/out; cat /tmp/out")
			cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: target}
			cmd.Dir = "/"
			cmd.Env = []string{"PATH=/bin"}
			if out, err := cmd.CombinedOutput(); err != nil || string(out) != "hi from 0\n" {
				t.Errorf("sh in the rootfs: %q %v", out, err)
			}
		})
	}
}

func TestRemoveAndGC(t *testing.T) {
	requireRoot(t)
	reg := newRegistry(t)
	shared := mustLayer(t, F{Path: "shared", Content: "s"})
	a := mustImage(t, v1.Config{}, shared, mustLayer(t, F{Path: "a", Content: "a"}))
	b := mustImage(t, v1.Config{}, shared, mustLayer(t, F{Path: "b", Content: "b"}))
	mustPush(t, reg, "a:1", a)
	mustPush(t, reg, "b:1", b)
	s := newStore(t, Options{})
	ctx := context.Background()
	imgA, err := s.Pull(ctx, reg.Ref("a:1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pull(ctx, reg.Ref("b:1"), nil); err != nil {
		t.Fatal(err)
	}
	rootfs, err := s.PrepareRootfs(ctx, "ctr", imgA.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PrepareRootfs(ctx, "ctr", imgA.ID); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("second PrepareRootfs of one key: %v", err)
	}

	// a's layers stay while the container's rootfs uses them.
	if err := s.Remove(reg.Ref("a:1")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(imgA.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Remove: %v", err)
	}
	if err := s.Remove(imgA.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Remove: %v", err)
	}
	target := mount(t, rootfs)
	if readFile(t, filepath.Join(target, "a")) != "a" {
		t.Error("a's top layer lost while its container runs")
	}
	if err := Unmount(target); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveRootfs("ctr"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveRootfs("ctr"); err != nil {
		t.Errorf("RemoveRootfs is not idempotent: %v", err)
	}
	if err := s.GC(); err != nil {
		t.Fatal(err)
	}
	// b keeps the shared layer: 2 snapshots, 4 blobs (manifest, config, 2 layers).
	if ents, _ := os.ReadDir(s.snapshotsDir()); len(ents) != 2 {
		t.Errorf("%d snapshots after removing a, want 2", len(ents))
	}
	if ents, _ := os.ReadDir(s.content.blobDir()); len(ents) != 4 {
		t.Errorf("%d blobs after removing a, want 4", len(ents))
	}
	if err := s.Remove("b:1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Remove of docker.io/library/b:1 (never pulled): %v", err)
	}
	if err := s.Remove(reg.Ref("b:1")); err != nil {
		t.Fatal(err)
	}
	if left := leftovers(t, s); len(left) != 0 {
		t.Errorf("after removing every image: %v", left)
	}
}

func TestReopen(t *testing.T) {
	requireRoot(t)
	reg := newRegistry(t)
	mustPush(t, reg, "app:1", mustImage(t, v1.Config{Cmd: []string{"x"}}, mustLayer(t, F{Path: "f", Content: "f"})))
	root := filepath.Join(t.TempDir(), "images")
	s := newStore(t, Options{Root: root})
	ctx := context.Background()
	img, err := s.Pull(ctx, reg.Ref("app:1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.PrepareRootfs(ctx, "ctr", img.ID)
	if err != nil {
		t.Fatal(err)
	}
	// An unpack a crash interrupted: a snapshot dir no record names.
	if err := os.MkdirAll(filepath.Join(root, "snapshots", "999", "fs"), 0o755); err != nil {
		t.Fatal(err)
	}

	s2 := newStore(t, Options{Root: root})
	if got := s2.List(); len(got) != 1 || compareImages(got[0], img) != "" {
		t.Fatalf("reopened store lists %+v, want %+v", got, img)
	}
	got, err := s2.Rootfs("ctr")
	if err != nil || !slices.Equal(got.Lower, want.Lower) || got.Upper != want.Upper {
		t.Fatalf("rootfs after reopen: %+v %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(root, "snapshots", "999")); !os.IsNotExist(err) {
		t.Errorf("orphaned snapshot kept: %v", err)
	}
	target := mount(t, got)
	if readFile(t, filepath.Join(target, "f")) != "f" {
		t.Error("rootfs content after reopen")
	}
	// New snapshots do not take the directories of the old ones.
	other, err := s2.PrepareRootfs(ctx, "ctr2", img.ID)
	if err != nil || other.Upper == got.Upper {
		t.Errorf("second rootfs after reopen: %+v %v", other, err)
	}
	if _, err := s2.PrepareRootfs(ctx, "ctr", img.ID); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("a key from before the reopen is free again: %v", err)
	}
}

// TestManyLayers: a lowerdir option of 120 layers is longer than a page
// with absolute paths; the mount must still work.
func TestManyLayers(t *testing.T) {
	requireRoot(t)
	reg := newRegistry(t)
	var layers []v1.Layer
	for i := range 120 {
		layers = append(layers, mustLayer(t, F{Path: fmt.Sprintf("f%03d", i), Content: "x"}, F{Path: "top", Content: fmt.Sprint(i)}))
	}
	mustPush(t, reg, "many:1", mustImage(t, v1.Config{}, layers...))
	// A long root makes every absolute lowerdir long.
	root := filepath.Join(t.TempDir(), strings.Repeat("long-directory-name-", 4), "images")
	s := newStore(t, Options{Root: root})
	img, err := s.Pull(context.Background(), reg.Ref("many:1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := mustRootfs(t, s, "c", img.ID)
	if n := len(overlayOptions(r.Lower, r.Upper, r.Work)); n < os.Getpagesize() {
		t.Fatalf("options only %d bytes: the test does not test the long case", n)
	}
	target := mount(t, r)
	if got := readFile(t, filepath.Join(target, "top")); got != "119" {
		t.Errorf("top = %q, want the top layer's 119", got)
	}
	if ents, _ := os.ReadDir(target); len(ents) != 121 {
		t.Errorf("%d entries, want 121", len(ents))
	}
}

func TestEmptyImage(t *testing.T) {
	requireRoot(t)
	reg := newRegistry(t)
	mustPush(t, reg, "empty:1", mustImage(t, v1.Config{}))
	s := newStore(t, Options{})
	img, err := s.Pull(context.Background(), reg.Ref("empty:1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	target := mount(t, mustRootfs(t, s, "c", img.ID))
	if err := os.WriteFile(filepath.Join(target, "x"), nil, 0o644); err != nil {
		t.Errorf("write into an empty image's rootfs: %v", err)
	}
}

// dockerSave writes img as docker save does: the config, each layer an
// uncompressed layer.tar, manifest.json last.
func dockerSave(w io.Writer, tag string, img v1.Image) error {
	tw := tar.NewWriter(w)
	add := func(name string, b []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	cfgName, err := img.ConfigName()
	if err != nil {
		return err
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	if err := add(cfgName.Hex+".json", raw); err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	var paths []string
	for _, l := range layers {
		d, err := l.DiffID()
		if err != nil {
			return err
		}
		rc, err := l.Uncompressed()
		if err != nil {
			return err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		p := d.Hex + "/layer.tar"
		if err := add(p, b); err != nil {
			return err
		}
		paths = append(paths, p)
	}
	m, err := json.Marshal([]map[string]any{{"Config": cfgName.Hex + ".json", "RepoTags": []string{tag}, "Layers": paths}})
	if err != nil {
		return err
	}
	if err := add("manifest.json", m); err != nil {
		return err
	}
	return tw.Close()
}
