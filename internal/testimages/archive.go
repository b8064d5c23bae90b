package testimages

import (
	"archive/tar"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// DockerArchive writes images, keyed by tag ("app:1"), as a docker-archive
// (the format of docker save) to w.
func DockerArchive(w io.Writer, images map[string]v1.Image) error {
	m := map[name.Tag]v1.Image{}
	for t, img := range images {
		tag, err := name.NewTag(t)
		if err != nil {
			return err
		}
		m[tag] = img
	}
	return tarball.MultiWrite(m, w)
}

// OCIArchive writes images, keyed by full reference
// ("docker.io/library/app:1", in org.opencontainers.image.ref.name), as a
// tarball of an OCI image layout to w.
func OCIArchive(w io.Writer, images map[string]v1.Image) error {
	dir, err := os.MkdirTemp("", "oci-layout-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	refs := make([]string, 0, len(images))
	for r := range images {
		refs = append(refs, r)
	}
	sort.Strings(refs)
	for _, r := range refs {
		ann := map[string]string{"org.opencontainers.image.ref.name": r}
		if err := p.AppendImage(images[r], layout.WithAnnotations(ann)); err != nil {
			return err
		}
	}
	return tarDir(w, dir)
}

func tarDir(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}
