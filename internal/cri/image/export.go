package image

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Export formats: what Import reads back.
const (
	// DockerArchive is `docker save`'s format: manifest.json naming each
	// image's config, tags and layers (here the compressed blobs, which
	// docker load, podman and go-containerregistry accept).
	DockerArchive = "docker-archive"
	// OCIArchive is an OCI image layout in a tar: oci-layout, index.json
	// (each tag a manifest entry, named by io.containerd.image.name and
	// org.opencontainers.image.ref.name) and blobs/sha256/.
	OCIArchive = "oci-archive"
)

// exported is one image of an export and the tags it goes under.
type exported struct {
	id       string
	tags     []string // normalized name:tag
	manifest v1.Descriptor
	m        *v1.Manifest
}

// Export writes the images refs name (anything Get takes; a tag exports
// the image under that tag, an ID or digest under none) to w as a tar in
// format, streamed from the content store. Each blob is written once.
func (s *Store) Export(ctx context.Context, w io.Writer, refs []string, format string) error {
	if format != DockerArchive && format != OCIArchive {
		return fmt.Errorf("export: format %q: want %s or %s", format, DockerArchive, OCIArchive)
	}
	if len(refs) == 0 {
		return fmt.Errorf("export: no image")
	}
	s.gc.RLock()
	defer s.gc.RUnlock()
	imgs, err := s.exportSet(refs)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := s.writeExport(ctx, w, imgs, format); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// exportSet resolves refs to images, merging tags of one image.
func (s *Store) exportSet(refs []string) ([]*exported, error) {
	var out []*exported
	byID := map[string]*exported{}
	for _, ref := range refs {
		s.mu.Lock()
		rec, err := s.lookupLocked(ref)
		if err == nil {
			rec = rec.snapshot()
		}
		s.mu.Unlock()
		if err != nil {
			return nil, err
		}
		e := byID[rec.ID]
		if e == nil {
			img, m, err := s.storedImage(rec)
			if err != nil {
				return nil, err
			}
			raw, _ := img.RawManifest()
			d, err := img.Digest()
			if err != nil {
				return nil, err
			}
			mt := m.MediaType
			if mt == "" {
				mt = types.OCIManifestSchema1
			}
			e = &exported{id: rec.ID, m: m, manifest: v1.Descriptor{MediaType: mt, Digest: d, Size: int64(len(raw))}}
			byID[rec.ID] = e
			out = append(out, e)
		}
		if pr, err := parseReference(ref); err == nil {
			if t := pr.tagged(); t != "" && slices.Contains(rec.RepoTags, t) && !slices.Contains(e.tags, t) {
				e.tags = append(e.tags, t)
			}
		}
	}
	return out, nil
}

func (s *Store) writeExport(ctx context.Context, w io.Writer, imgs []*exported, format string) error {
	tw := tar.NewWriter(w)
	var meta []tarFile
	switch format {
	case DockerArchive:
		b, err := dockerManifest(imgs)
		if err != nil {
			return err
		}
		meta = []tarFile{{"manifest.json", b}}
	case OCIArchive:
		b, err := ociIndex(imgs)
		if err != nil {
			return err
		}
		meta = []tarFile{{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)}, {"index.json", b}}
	}
	for _, dir := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Name: dir, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
	}
	seen := map[v1.Hash]bool{}
	dirs := map[string]bool{"sha256": true}
	for _, e := range imgs {
		blobs := []v1.Hash{e.manifest.Digest, e.m.Config.Digest}
		for _, l := range e.m.Layers {
			blobs = append(blobs, l.Digest)
		}
		for _, d := range blobs {
			if seen[d] {
				continue
			}
			seen[d] = true
			if !dirs[d.Algorithm] { // sha512 content, as an OCI layout keeps it
				dirs[d.Algorithm] = true
				if err := tw.WriteHeader(&tar.Header{Name: "blobs/" + d.Algorithm + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: time.Unix(0, 0)}); err != nil {
					return err
				}
			}
			if err := s.writeBlobEntry(ctx, tw, d); err != nil {
				return err
			}
		}
	}
	for _, f := range meta {
		if err := writeTarFile(tw, f.name, f.data); err != nil {
			return err
		}
	}
	return tw.Close()
}

type tarFile struct {
	name string
	data []byte
}

func writeTarFile(tw *tar.Writer, name string, data []byte) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data)), ModTime: time.Unix(0, 0)}); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

func (s *Store) writeBlobEntry(ctx context.Context, tw *tar.Writer, d v1.Hash) error {
	f, err := s.content.open(d)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	hdr := &tar.Header{Name: blobPath(d), Typeflag: tar.TypeReg, Mode: 0o644, Size: fi.Size(), ModTime: time.Unix(0, 0)}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := io.Copy(tw, ctxReader{ctx, f}); err != nil {
		return fmt.Errorf("blob %s: %w", d, err)
	}
	return nil
}

// blobPath is where an archive keeps blob d: blobs/<algorithm>/<hex>.
func blobPath(d v1.Hash) string { return "blobs/" + d.Algorithm + "/" + d.Hex }

func dockerManifest(imgs []*exported) ([]byte, error) {
	type entry struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	var m []entry
	for _, e := range imgs {
		en := entry{Config: blobPath(e.m.Config.Digest), RepoTags: e.tags}
		if en.RepoTags == nil {
			en.RepoTags = []string{}
		}
		for _, l := range e.m.Layers {
			en.Layers = append(en.Layers, blobPath(l.Digest))
		}
		m = append(m, en)
	}
	return json.Marshal(m)
}

func ociIndex(imgs []*exported) ([]byte, error) {
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	for _, e := range imgs {
		if len(e.tags) == 0 {
			idx.Manifests = append(idx.Manifests, e.manifest)
			continue
		}
		for _, t := range e.tags {
			d := e.manifest
			r, err := parseReference(t)
			if err != nil {
				return nil, err
			}
			d.Annotations = map[string]string{"io.containerd.image.name": t, "org.opencontainers.image.ref.name": r.tag}
			idx.Manifests = append(idx.Manifests, d)
		}
	}
	return json.Marshal(idx)
}
