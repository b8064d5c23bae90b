package image

import (
	"fmt"
	"os"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Remove removes the image ref names (with every tag it has), then
// collects the blobs and layers nothing references any more. Layers under
// a container's rootfs stay.
func (s *Store) Remove(ref string) error {
	s.gc.Lock()
	defer s.gc.Unlock()
	s.mu.Lock()
	rec, err := s.lookupLocked(ref)
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("remove image: %w", err)
	}
	delete(s.meta.Images, rec.ID)
	if err := s.saveLocked(); err != nil {
		s.meta.Images[rec.ID] = rec
		s.mu.Unlock()
		return fmt.Errorf("remove image %s: %w", rec.ID, err)
	}
	s.mu.Unlock()
	return s.collectLocked()
}

// GC removes the blobs and snapshots no image or rootfs needs.
func (s *Store) GC() error {
	s.gc.Lock()
	defer s.gc.Unlock()
	return s.collectLocked()
}

// collectAfterFailure drops what a failed pull or import stored.
func (s *Store) collectAfterFailure() {
	if err := s.GC(); err != nil {
		s.log.Warn("cleaning up after a failed pull", "err", err)
	}
}

// collectLocked: s.gc held for writing, so no pull or import is storing
// anything. Records go first (saved), files after: a crash in between
// leaves files Open removes (snapshots) or the next collection does.
func (s *Store) collectLocked() error {
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
			delete(s.meta.Snapshots, c)
		}
	}
	var err error
	if len(dirs) > 0 {
		err = s.saveLocked()
	}
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("garbage collection: %w", err)
	}
	for _, d := range dirs {
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("garbage collection: %w", err)
		}
	}
	var garbage []v1.Hash
	err = s.content.walk(func(d v1.Hash, _ int64) {
		if !blobs[d.String()] && !strings.Contains(d.Hex, ".") {
			garbage = append(garbage, d)
		}
	})
	if err != nil {
		return fmt.Errorf("garbage collection: %w", err)
	}
	for _, d := range garbage {
		if err := s.content.remove(d); err != nil {
			return fmt.Errorf("garbage collection: %w", err)
		}
	}
	if len(dirs)+len(garbage) > 0 {
		s.log.Info("garbage collected", "snapshots", len(dirs), "blobs", len(garbage))
	}
	return nil
}
