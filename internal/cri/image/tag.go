package image

import (
	"fmt"
	"slices"
)

// Tag gives the image src names (anything Get takes) the tag dst ("app:1"
// is docker.io/library/app:1, as docker normalizes), taking it from
// whichever image had it.
func (s *Store) Tag(src, dst string) (Image, error) {
	r, err := parseReference(dst)
	if err != nil {
		return Image{}, fmt.Errorf("tag: %w", err)
	}
	t := r.tagged()
	if t == "" {
		return Image{}, fmt.Errorf("tag: %w: %q is a digest, not a tag", ErrInvalidReference, dst)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.lookupLocked(src)
	if err != nil {
		return Image{}, fmt.Errorf("tag: %w", err)
	}
	if slices.Contains(rec.RepoTags, t) {
		return rec.Image.clone(), nil
	}
	// Undo in memory if the metadata cannot be saved.
	before := map[string][]string{}
	for id, other := range s.meta.Images {
		if other != rec && slices.Contains(other.RepoTags, t) {
			before[id] = other.RepoTags
			other.RepoTags = slices.DeleteFunc(slices.Clone(other.RepoTags), func(x string) bool { return x == t })
		}
	}
	old := rec.RepoTags
	rec.RepoTags = append(slices.Clone(rec.RepoTags), t)
	if err := s.saveLocked(); err != nil {
		rec.RepoTags = old
		for id, tags := range before {
			s.meta.Images[id].RepoTags = tags
		}
		return Image{}, fmt.Errorf("tag: %w", err)
	}
	s.log.Info("image tagged", "image", rec.ID, "tag", t)
	return rec.Image.clone(), nil
}
