package image

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kemudi/kemudi/internal/testimages"
)

// TestCommit: an image committed on a stored one has its layers and the
// new one, the config given, the tags given; the same commit again is the
// same image; a rootfs of it shows every layer; a missing base and a bad
// tag are refused.
func TestCommit(t *testing.T) {
	requireRoot(t)
	s := newStore(t, Options{})
	ctx := context.Background()
	base := mustImage(t, v1.Config{Env: []string{"A=1"}}, mustLayer(t, testimages.File{Path: "base.txt", Content: "base"}))
	var archive bytes.Buffer
	if err := testimages.DockerArchive(&archive, map[string]v1.Image{"base:1": base}); err != nil {
		t.Fatal(err)
	}
	imported, err := s.Import(ctx, &archive)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := s.ConfigFile("base:1")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Config.Env, []string{"A=1"}) {
		t.Fatalf("ConfigFile env %v", cfg.Config.Env)
	}
	cfg.Config.Cmd = []string{"cat", "/top.txt"}
	top := mustLayer(t, testimages.File{Path: "top.txt", Content: "top"})
	img, err := s.Commit(ctx, imported[0].ID, []v1.Layer{top}, cfg, []string{"app:1"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(img.RepoTags, []string{"docker.io/library/app:1"}) || !slices.Equal(img.Config.Cmd, cfg.Config.Cmd) {
		t.Fatalf("committed %+v", img)
	}
	again, err := s.Commit(ctx, imported[0].ID, []v1.Layer{top}, cfg, nil)
	if err != nil || again.ID != img.ID {
		t.Fatalf("the same commit again: %v, %v (first %s)", again.ID, err, img.ID)
	}
	got, err := s.ConfigFile(img.ID)
	if err != nil || len(got.RootFS.DiffIDs) != 2 {
		t.Fatalf("config of the commit: %+v, %v", got, err)
	}
	r, err := s.PrepareRootfs(ctx, "check", img.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer s.RemoveRootfs("check")
	if !slices.Contains(s.RootfsKeys(), "check") {
		t.Errorf("RootfsKeys %v", s.RootfsKeys())
	}
	dir := mount(t, r)
	if readFile(t, dir+"/base.txt") != "base" || readFile(t, dir+"/top.txt") != "top" {
		t.Error("the rootfs of the commit lacks a layer")
	}
	if _, err := s.Commit(ctx, "nothere", nil, cfg, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("commit on a missing base: %v", err)
	}
	if _, err := s.Commit(ctx, img.ID, nil, cfg, []string{"Bad Tag"}); !errors.Is(err, ErrInvalidReference) {
		t.Errorf("commit with a bad tag: %v", err)
	}
}
