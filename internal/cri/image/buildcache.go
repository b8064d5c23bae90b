package image

import (
	"fmt"
	"sort"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// A build commits an image per step that changes the stage (its build
// cache). Those are marked in the metadata (BuildCache) and hidden from
// List while untagged; Get finds them, so the build's cache can use them.
// They hold the layers a rebuild reuses until Prune removes them.

// Freed is what a removal or Prune gave back.
type Freed struct {
	Images    []string // IDs of the images removed
	Snapshots int      // unpacked layers removed
	Blobs     int      // content blobs removed
	Bytes     uint64   // their size on disk (layers unpacked plus blobs)
}

// PruneOptions says what Prune removes.
type PruneOptions struct {
	// All: every untagged build-cache image, and every other untagged
	// image not in InUse; else only the build-cache images no tagged
	// image is built on.
	All bool
	// InUse are IDs of images containers use: never removed.
	InUse map[string]bool
}

// hiddenLocked: r is a step image of a build with no name (s.mu held).
func (s *Store) hiddenLocked(r *imageRecord) bool {
	return s.meta.BuildCache[r.ID] && len(r.RepoTags) == 0 && len(r.RepoDigests) == 0
}

// IsBuildCache says whether the image id is a build's step image.
func (s *Store) IsBuildCache(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.meta.BuildCache[id]
}

// markBuildCache records img's ID as build cache before img is stored
// (s.gc held for reading, so no collection drops the mark meanwhile).
func (s *Store) markBuildCache(img v1.Image) error {
	id, err := img.ConfigName()
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.meta.BuildCache[id.String()] {
		return nil
	}
	s.meta.BuildCache[id.String()] = true
	if err := s.saveLocked(); err != nil {
		delete(s.meta.BuildCache, id.String())
		return err
	}
	return nil
}

// Prune removes unused images (see PruneOptions), then the blobs and
// layers nothing references any more, and reports what it freed. Tagged
// images and images in use stay, and so does every layer they or a
// container's rootfs need.
func (s *Store) Prune(opts PruneOptions) (Freed, error) {
	s.gc.Lock()
	defer s.gc.Unlock()
	s.mu.Lock()
	// Chain IDs name a layer with everything under it: a step image is
	// one a tagged image is built on when its top chain ID is among the
	// tagged image's.
	tagged := map[string]bool{}
	for _, r := range s.meta.Images {
		if len(r.RepoTags) > 0 {
			for _, c := range r.Chain {
				tagged[c] = true
			}
		}
	}
	removed := map[string]*imageRecord{}
	for id, r := range s.meta.Images {
		if len(r.RepoTags) > 0 || opts.InUse[id] {
			continue
		}
		cache := s.meta.BuildCache[id]
		switch {
		case cache && opts.All:
		case cache && (len(r.Chain) == 0 || !tagged[r.Chain[len(r.Chain)-1]]):
		case !cache && opts.All:
		default:
			continue
		}
		removed[id] = r
	}
	for id := range removed {
		delete(s.meta.Images, id)
	}
	if len(removed) > 0 {
		if err := s.saveLocked(); err != nil {
			for id, r := range removed {
				s.meta.Images[id] = r
			}
			s.mu.Unlock()
			return Freed{}, fmt.Errorf("prune images: %w", err)
		}
	}
	s.mu.Unlock()
	freed, err := s.collectLocked()
	for id := range removed {
		freed.Images = append(freed.Images, id)
	}
	sort.Strings(freed.Images)
	if err != nil {
		return freed, fmt.Errorf("prune images: %w", err)
	}
	if len(removed) > 0 {
		s.log.Info("images pruned", "images", len(removed), "bytes", freed.Bytes)
	}
	return freed, nil
}
