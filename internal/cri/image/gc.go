package image

import (
	"fmt"
	"os"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Remove removes the image ref names (with every tag it has), then
// collects the blobs and layers nothing references any more. Layers under
// a container's rootfs stay. A build's tagged image that is also a step
// of the build cache loses its names only and stays as cache, as
// BuildKit's does, until Prune.
func (s *Store) Remove(ref string) error {
	s.gc.Lock()
	defer s.gc.Unlock()
	s.mu.Lock()
	rec, err := s.lookupLocked(ref)
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("remove image: %w", err)
	}
	if s.meta.BuildCache[rec.ID] && len(rec.RepoTags)+len(rec.RepoDigests) > 0 {
		tags, digests := rec.RepoTags, rec.RepoDigests
		rec.RepoTags, rec.RepoDigests = nil, nil
		if err := s.saveLocked(); err != nil {
			rec.RepoTags, rec.RepoDigests = tags, digests
			s.mu.Unlock()
			return fmt.Errorf("remove image %s: %w", rec.ID, err)
		}
		s.mu.Unlock()
		s.log.Info("image untagged, kept as build cache", "image", rec.ID, "tags", tags)
		return nil
	}
	delete(s.meta.Images, rec.ID)
	if err := s.saveLocked(); err != nil {
		s.meta.Images[rec.ID] = rec
		s.mu.Unlock()
		return fmt.Errorf("remove image %s: %w", rec.ID, err)
	}
	s.mu.Unlock()
	_, err = s.collectLocked()
	return err
}

// GC removes the blobs and snapshots no image or rootfs needs.
func (s *Store) GC() error {
	s.gc.Lock()
	defer s.gc.Unlock()
	_, err := s.collectLocked()
	return err
}

// collectAfterFailure drops what a failed pull or import stored.
func (s *Store) collectAfterFailure() {
	if err := s.GC(); err != nil {
		s.log.Warn("cleaning up after a failed pull", "err", err)
	}
}

// collectLocked: s.gc held for writing, so no pull or import is storing
// anything. Records go first (saved), files after: a crash in between
// leaves files Open removes (snapshots) or the next collection does. It
// returns what it freed.
func (s *Store) collectLocked() (Freed, error) {
	var freed Freed
	s.mu.Lock()
	blobs := map[string]bool{}
	keep := map[string]bool{}
	for _, img := range s.meta.Images {
		for _, b := range img.Blobs {
			blobs[b] = true
		}
		for _, c := range img.Chain {
			keep[c] = true
		}
	}
	for _, r := range s.meta.Rootfs {
		for c := r.Parent; c != "" && !keep[c]; {
			keep[c] = true
			sr, ok := s.meta.Snapshots[c]
			if !ok {
				break
			}
			c = sr.Parent
		}
	}
	var dirs []string
	for c, sr := range s.meta.Snapshots {
		if !keep[c] {
			dirs = append(dirs, s.snapshotDir(sr.ID))
			freed.Bytes += sr.Usage.Bytes
			delete(s.meta.Snapshots, c)
		}
	}
	// A mark whose image is gone (removed, or a commit that failed) is
	// dropped; no commit runs now, so none is about to store it.
	stale := false
	for id := range s.meta.BuildCache {
		if _, ok := s.meta.Images[id]; !ok {
			delete(s.meta.BuildCache, id)
			stale = true
		}
	}
	var err error
	if len(dirs) > 0 || stale {
		err = s.saveLocked()
	}
	s.mu.Unlock()
	if err != nil {
		return Freed{}, fmt.Errorf("garbage collection: %w", err)
	}
	for _, d := range dirs {
		if err := os.RemoveAll(d); err != nil {
			return freed, fmt.Errorf("garbage collection: %w", err)
		}
	}
	freed.Snapshots = len(dirs)
	var garbage []v1.Hash
	var sizes int64
	err = s.content.walk(func(d v1.Hash, size int64) {
		if !blobs[d.String()] && !strings.Contains(d.Hex, ".") {
			garbage = append(garbage, d)
			sizes += size
		}
	})
	if err != nil {
		return freed, fmt.Errorf("garbage collection: %w", err)
	}
	for _, d := range garbage {
		if err := s.content.remove(d); err != nil {
			return freed, fmt.Errorf("garbage collection: %w", err)
		}
	}
	freed.Blobs, freed.Bytes = len(garbage), freed.Bytes+uint64(sizes)
	if len(dirs)+len(garbage) > 0 {
		s.log.Info("garbage collected", "snapshots", len(dirs), "blobs", len(garbage))
	}
	return freed, nil
}
