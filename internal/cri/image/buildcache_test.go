package image

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kemudi/kemudi/internal/testimages"
)

// TestBuildCacheImages: a build-cache commit is found by ID but not
// listed until tagged, stays marked across a reopen, is only untagged by
// Remove of its tag, and Prune removes it unless a tagged image is built
// on it (or a container uses it); Prune with All takes it anyway.
func TestBuildCacheImages(t *testing.T) {
	requireRoot(t)
	root := filepath.Join(t.TempDir(), "images")
	s := newStore(t, Options{Root: root})
	ctx := context.Background()
	base := mustImage(t, v1.Config{}, mustLayer(t, testimages.File{Path: "base.txt", Content: "base"}))
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
	step1, err := s.CommitBuildCache(ctx, imported[0].ID, []v1.Layer{mustLayer(t, testimages.File{Path: "one", Content: "1"})}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	step2, err := s.CommitBuildCache(ctx, step1.ID, []v1.Layer{mustLayer(t, testimages.File{Path: "two", Content: "2"})}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.CommitBuildCache(ctx, imported[0].ID, []v1.Layer{mustLayer(t, testimages.File{Path: "other", Content: "o"})}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	listed := func(s *Store) []string {
		var ids []string
		for _, img := range s.List() {
			ids = append(ids, img.ID)
		}
		return ids
	}
	if got := listed(s); len(got) != 1 || got[0] != imported[0].ID {
		t.Errorf("List with only untagged build cache: %v, want only %s", got, imported[0].ID)
	}
	if _, err := s.Get(step1.ID); err != nil {
		t.Errorf("Get of a step image: %v", err)
	}
	if _, err := s.Tag(step2.ID, "app:1"); err != nil {
		t.Fatal(err)
	}
	if got := listed(s); len(got) != 2 {
		t.Errorf("List after tagging the last step: %v", got)
	}

	s = newStore(t, Options{Root: root}) // the marks are on disk
	if !s.IsBuildCache(step1.ID) || s.IsBuildCache(imported[0].ID) {
		t.Errorf("after reopen: step1 cache %v, base cache %v", s.IsBuildCache(step1.ID), s.IsBuildCache(imported[0].ID))
	}
	freed, err := s.Prune(PruneOptions{})
	if err != nil || len(freed.Images) != 1 || freed.Images[0] != other.ID || freed.Snapshots != 1 || freed.Bytes == 0 {
		t.Errorf("Prune: %+v, %v; want only %s, with its layer", freed, err, other.ID)
	}
	if err := s.Remove("app:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(step2.ID); err != nil {
		t.Errorf("the removed image is the build's cache, and gone: %v", err)
	}
	if _, err := s.Get("app:1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("its tag after Remove: %v", err)
	}
	if freed, err := s.Prune(PruneOptions{InUse: map[string]bool{step1.ID: true}}); err != nil || len(freed.Images) != 1 || freed.Images[0] != step2.ID {
		t.Errorf("Prune with step1 in use: %+v, %v; want only %s", freed, err, step2.ID)
	}
	if freed, err := s.Prune(PruneOptions{All: true}); err != nil || len(freed.Images) != 1 || freed.Images[0] != step1.ID {
		t.Errorf("Prune all: %+v, %v; want %s", freed, err, step1.ID)
	}
	if got := listed(s); len(got) != 1 || got[0] != imported[0].ID {
		t.Errorf("after prunes: %v, want the tagged base only", got)
	}
	s = newStore(t, Options{Root: root})
	if s.IsBuildCache(step1.ID) {
		t.Error("a pruned image is still marked after reopen")
	}
}
