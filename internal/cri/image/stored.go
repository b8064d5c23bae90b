package image

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// maxManifestSize bounds what is read to see whether a blob is a manifest.
const maxManifestSize = 4 << 20

// storedImage is an image of the store as go-containerregistry sees it:
// its manifest, config and layers read from the content store, so that
// pushing or saving it sends the very blobs the store holds.
type storedImage struct {
	content   *contentStore
	manifest  []byte
	mediaType types.MediaType
	config    []byte
	configRef v1.Descriptor // the config as the manifest names it
	layers    map[v1.Hash]v1.Descriptor
}

// snapshot is a copy of what storedImage reads of rec, to use after s.mu
// is released (s.mu held).
func (rec *imageRecord) snapshot() *imageRecord {
	c := &imageRecord{Image: rec.Image.clone(), Blobs: slices.Clone(rec.Blobs), Chain: slices.Clone(rec.Chain)}
	return c
}

// storedImage builds the v1.Image of rec from the content store.
func (s *Store) storedImage(rec *imageRecord) (v1.Image, *v1.Manifest, error) {
	raw, digest, err := s.rawManifestOf(rec)
	if err != nil {
		return nil, nil, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, nil, fmt.Errorf("image %s: manifest %s: %w", rec.ID, digest, err)
	}
	cfg, err := s.content.read(m.Config.Digest)
	if err != nil {
		return nil, nil, fmt.Errorf("image %s: config: %w", rec.ID, err)
	}
	mt := m.MediaType
	if mt == "" {
		mt = types.OCIManifestSchema1
	}
	si := &storedImage{content: s.content, manifest: raw, mediaType: mt, config: cfg, configRef: m.Config, layers: map[v1.Hash]v1.Descriptor{}}
	for _, l := range m.Layers {
		if !s.content.has(l.Digest) {
			return nil, nil, fmt.Errorf("image %s: layer %s: %w", rec.ID, l.Digest, ErrNotFound)
		}
		si.layers[l.Digest] = l
	}
	img, err := partial.CompressedToImage(si)
	if err != nil {
		return nil, nil, fmt.Errorf("image %s: %w", rec.ID, err)
	}
	return img, m, nil
}

// rawManifestOf finds the image manifest among rec's blobs: the first blob
// that is a manifest whose config is the image's. (An image pulled through
// an index also holds the index; one stored twice may hold two manifests
// of one config, either of which describes it.)
func (s *Store) rawManifestOf(rec *imageRecord) ([]byte, v1.Hash, error) {
	for _, b := range rec.Blobs {
		if b == rec.ID {
			continue
		}
		d, err := v1.NewHash(b)
		if err != nil {
			continue
		}
		if fi, err := os.Stat(s.content.path(d)); err != nil || fi.Size() > maxManifestSize {
			continue // not there, or a layer
		}
		raw, err := s.content.read(d)
		if err != nil {
			continue
		}
		var probe struct {
			Config *v1.Descriptor `json:"config"`
			Layers []any          `json:"layers"`
		}
		if json.Unmarshal(raw, &probe) != nil || probe.Config == nil || probe.Layers == nil {
			continue
		}
		if probe.Config.Digest.String() == rec.ID {
			return raw, d, nil
		}
	}
	return nil, v1.Hash{}, fmt.Errorf("image %s: no manifest in the store: %w", rec.ID, ErrNotFound)
}

func (i *storedImage) RawManifest() ([]byte, error)        { return i.manifest, nil }
func (i *storedImage) MediaType() (types.MediaType, error) { return i.mediaType, nil }
func (i *storedImage) RawConfigFile() ([]byte, error)      { return i.config, nil }

// ConfigLayer is the config blob by the digest its manifest names it
// by: go-containerregistry would name it by its sha256 digest, which a
// manifest of sha512 content does not reference.
func (i *storedImage) ConfigLayer() (v1.Layer, error) {
	return partial.CompressedToLayer(&blobLayer{content: i.content, desc: i.configRef})
}

func (i *storedImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	d, ok := i.layers[h]
	if !ok {
		return nil, fmt.Errorf("blob %s: not a layer of the image: %w", h, ErrNotFound)
	}
	return &blobLayer{content: i.content, desc: d}, nil
}

// blobLayer is a compressed layer blob in the content store.
type blobLayer struct {
	content *contentStore
	desc    v1.Descriptor
}

func (l *blobLayer) Digest() (v1.Hash, error)            { return l.desc.Digest, nil }
func (l *blobLayer) Size() (int64, error)                { return l.desc.Size, nil }
func (l *blobLayer) MediaType() (types.MediaType, error) { return l.desc.MediaType, nil }
func (l *blobLayer) Compressed() (io.ReadCloser, error)  { return l.content.open(l.desc.Digest) }
