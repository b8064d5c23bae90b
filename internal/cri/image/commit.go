package image

import (
	"bytes"
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ConfigFile is the whole config of the image ref names (Get's
// references): what a build starts a stage from.
func (s *Store) ConfigFile(ref string) (*v1.ConfigFile, error) {
	s.mu.Lock()
	rec, err := s.lookupLocked(ref)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	d, err := v1.NewHash(rec.ID)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", rec.ID, err)
	}
	b, err := s.content.read(d)
	if err != nil {
		return nil, fmt.Errorf("image %s config: %w", rec.ID, err)
	}
	return v1.ParseConfigFile(bytes.NewReader(b))
}

// Commit stores a new image: the layers of the image base ("" = none)
// with layers on top, and cfg as its config (its RootFS is set here from
// the layers; its History is the caller's), tagged with tags. The same
// layers and config give the same ID again. Layers already stored are
// neither copied nor unpacked again.
func (s *Store) Commit(ctx context.Context, base string, layers []v1.Layer, cfg *v1.ConfigFile, tags []string) (Image, error) {
	img, err := s.commit(ctx, base, layers, cfg, tags, false)
	if err != nil {
		s.collectAfterFailure()
		return Image{}, fmt.Errorf("commit image: %w", err)
	}
	return img, nil
}

// CommitBuildCache is Commit of a build's step: the image is marked as
// build cache, which List leaves out while it has no tag and Prune
// removes.
func (s *Store) CommitBuildCache(ctx context.Context, base string, layers []v1.Layer, cfg *v1.ConfigFile) (Image, error) {
	img, err := s.commit(ctx, base, layers, cfg, nil, true)
	if err != nil {
		s.collectAfterFailure()
		return Image{}, fmt.Errorf("commit image: %w", err)
	}
	return img, nil
}

func (s *Store) commit(ctx context.Context, base string, layers []v1.Layer, cfg *v1.ConfigFile, tags []string, cache bool) (Image, error) {
	s.gc.RLock()
	defer s.gc.RUnlock()
	var normalized []string
	for _, t := range tags {
		r, err := parseReference(t)
		if err != nil || r.tagged() == "" {
			return Image{}, fmt.Errorf("tag %q: %w", t, ErrInvalidReference)
		}
		normalized = append(normalized, r.tagged())
	}
	var all []v1.Layer
	if base != "" {
		s.mu.Lock()
		rec, err := s.lookupLocked(base)
		s.mu.Unlock()
		if err != nil {
			return Image{}, err
		}
		baseImg, _, err := s.storedImage(rec)
		if err != nil {
			return Image{}, err
		}
		if all, err = knownLayers(baseImg); err != nil {
			return Image{}, fmt.Errorf("image %s: %w", rec.ID, err)
		}
	}
	all = append(all, layers...)
	c := cfg.DeepCopy()
	c.RootFS = v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{}}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	adds := make([]mutate.Addendum, 0, len(all))
	for _, l := range all {
		d, err := l.DiffID()
		if err != nil {
			return Image{}, err
		}
		c.RootFS.DiffIDs = append(c.RootFS.DiffIDs, d)
		mt, err := l.MediaType()
		if err != nil {
			return Image{}, err
		}
		adds = append(adds, mutate.Addendum{Layer: l, MediaType: ociLayerType(mt)})
	}
	img, err := mutate.Append(img, adds...)
	if err != nil {
		return Image{}, err
	}
	if img, err = mutate.ConfigFile(img, c); err != nil {
		return Image{}, err
	}
	if cache {
		if err := s.markBuildCache(img); err != nil {
			return Image{}, err
		}
	}
	return s.ingest(ctx, img, nil, normalized, nil)
}

// ociLayerType is the OCI name of a Docker layer media type (the same
// bytes), so that an OCI manifest names its layers in its own terms.
func ociLayerType(mt types.MediaType) types.MediaType {
	switch mt {
	case types.DockerLayer:
		return types.OCILayer
	case types.DockerUncompressedLayer:
		return types.OCIUncompressedLayer
	}
	return mt
}

// knownLayers are img's layers with the diff IDs its config gives, so that
// committing on top of a large image reads none of its layers.
func knownLayers(img v1.Image) ([]v1.Layer, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	if len(cfg.RootFS.DiffIDs) != len(layers) {
		return nil, fmt.Errorf("%d layers but %d diff IDs", len(layers), len(cfg.RootFS.DiffIDs))
	}
	out := make([]v1.Layer, len(layers))
	for i, l := range layers {
		out[i] = diffIDLayer{Layer: l, diffID: cfg.RootFS.DiffIDs[i]}
	}
	return out, nil
}

type diffIDLayer struct {
	v1.Layer
	diffID v1.Hash
}

func (l diffIDLayer) DiffID() (v1.Hash, error) { return l.diffID, nil }

// RootfsKeys are the keys of every writable layer, for finding what an
// interrupted user (a build the runtime's crash stopped) left.
func (s *Store) RootfsKeys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.meta.Rootfs))
	for k := range s.meta.Rootfs {
		out = append(out, k)
	}
	return out
}
