package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Import stores the images of a docker-archive (docker save) or OCI
// layout tarball, with the tags the archive gives them. A failed import
// leaves nothing behind.
func (s *Store) Import(ctx context.Context, r io.Reader) ([]Image, error) {
	imgs, err := s.importArchive(ctx, r)
	if err != nil {
		s.collectAfterFailure()
		return nil, fmt.Errorf("import: %w", err)
	}
	return imgs, nil
}

func (s *Store) importArchive(ctx context.Context, r io.Reader) ([]Image, error) {
	s.gc.RLock()
	defer s.gc.RUnlock()
	tmp, err := os.MkdirTemp(s.tmpDir(), "import-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	archive := filepath.Join(tmp, "archive.tar")
	if err := saveArchive(ctx, archive, r); err != nil {
		return nil, err
	}
	names, err := archiveNames(archive)
	if err != nil {
		return nil, err
	}
	switch {
	case names["manifest.json"]:
		return s.importDocker(ctx, archive)
	case names["index.json"] && names["oci-layout"]:
		dir := filepath.Join(tmp, "layout")
		if err := extractLayout(archive, dir); err != nil {
			return nil, err
		}
		return s.importLayout(ctx, dir)
	}
	return nil, errors.New("not a docker-archive (no manifest.json) nor an OCI layout (no oci-layout and index.json)")
}

func saveArchive(ctx context.Context, file string, r io.Reader) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, ctxReader{ctx, r})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("read archive: %w", err)
	}
	return nil
}

// archiveNames are the cleaned names of an archive's regular files.
func archiveNames(file string) (map[string]bool, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names := map[string]bool{}
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return names, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read archive: %w", err)
		}
		if p, err := cleanPath(hdr.Name); err == nil && hdr.Typeflag == tar.TypeReg {
			names[p] = true
		}
	}
}

func (s *Store) importDocker(ctx context.Context, archive string) ([]Image, error) {
	opener := func() (io.ReadCloser, error) { return os.Open(archive) }
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, fmt.Errorf("docker archive: %w", err)
	}
	var out []Image
	for i, desc := range m {
		var tag *name.Tag
		var tags []string
		for _, t := range desc.RepoTags {
			pr, err := parseReference(t)
			if err != nil || pr.tagged() == "" {
				return nil, fmt.Errorf("docker archive: image %d: bad tag %q", i, t)
			}
			tags = append(tags, pr.tagged())
		}
		if len(m) > 1 {
			if len(desc.RepoTags) == 0 {
				return nil, fmt.Errorf("docker archive: image %d of %d has no tag to tell it apart", i, len(m))
			}
			t, err := name.NewTag(desc.RepoTags[0])
			if err != nil {
				return nil, fmt.Errorf("docker archive: image %d: %w", i, err)
			}
			tag = &t
		}
		img, err := tarball.Image(opener, tag)
		if err != nil {
			return nil, fmt.Errorf("docker archive: image %d: %w", i, err)
		}
		imported, err := s.ingest(ctx, img, nil, tags, nil)
		if err != nil {
			return nil, fmt.Errorf("docker archive: image %d: %w", i, err)
		}
		out = append(out, imported)
	}
	return out, nil
}

// extractLayout unpacks an OCI layout's regular files and directories
// into dir; nothing else belongs in one.
func extractLayout(archive, dir string) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read archive: %w", err)
		}
		p, err := cleanPath(hdr.Name)
		if err != nil {
			return fmt.Errorf("OCI layout: %w", err)
		}
		if p == "." || hdr.Typeflag != tar.TypeReg {
			continue // directories are made as needed
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return err
		}
		if err := writeNewFile(dst, tr); err != nil {
			return fmt.Errorf("OCI layout: %s: %w", p, err)
		}
	}
}

func writeNewFile(dst string, r io.Reader) error {
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, r)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

func (s *Store) importLayout(ctx context.Context, dir string) ([]Image, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("OCI layout: %w", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("OCI layout: %w", err)
	}
	var out []Image
	for _, desc := range im.Manifests {
		var tags, digests []string
		if n := layoutName(desc.Annotations); n.name() != "/" {
			tags = append(tags, n.tagged())
			digests = append(digests, n.name()+"@"+desc.Digest.String())
		}
		extra := map[v1.Hash][]byte{}
		var img v1.Image
		switch {
		case desc.MediaType.IsImage():
			img, err = idx.Image(desc.Digest)
		case desc.MediaType.IsIndex():
			var child v1.ImageIndex
			if child, err = idx.ImageIndex(desc.Digest); err != nil {
				break
			}
			raw, rerr := child.RawManifest()
			if rerr != nil {
				err = rerr
				break
			}
			extra[desc.Digest] = raw
			img, err = pickPlatform(child)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("OCI layout: %s: %w", desc.Digest, err)
		}
		imported, err := s.ingest(ctx, img, extra, tags, digests)
		if err != nil {
			return nil, fmt.Errorf("OCI layout: %s: %w", desc.Digest, err)
		}
		out = append(out, imported)
	}
	if len(out) == 0 {
		return nil, errors.New("OCI layout: no image in index.json")
	}
	return out, nil
}

// layoutName is the image name an OCI layout gives a manifest:
// containerd's io.containerd.image.name, or a full reference in
// org.opencontainers.image.ref.name (a bare tag names nothing).
func layoutName(ann map[string]string) reference {
	for _, k := range []string{"io.containerd.image.name", "org.opencontainers.image.ref.name"} {
		v := ann[k]
		if v == "" || !strings.ContainsAny(v, "/:") {
			continue
		}
		if r, err := parseReference(v); err == nil && r.digest == "" {
			return r
		}
	}
	return reference{}
}
