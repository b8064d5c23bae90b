package testimages

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// File is one entry of a layer.
type File struct {
	Path     string // "bin/sh"; "dir/.wh.name" and "dir/.wh..wh..opq" are whiteouts
	Type     byte   // tar.TypeReg (default), TypeDir, TypeSymlink, TypeLink, TypeChar, TypeBlock, TypeFifo
	Mode     int64  // default 0644 (files), 0755 (directories)
	Content  string
	Link     string // target of a symlink or hard link
	UID, GID int
	Xattrs   map[string]string
	ModTime  time.Time // default 2020-01-01T00:00:00Z
	Major    int64     // device numbers
	Minor    int64
}

// LayerTar is the uncompressed tar of files, in order.
func LayerTar(files ...File) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := f.header()
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("layer entry %s: %w", f.Path, err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := io.WriteString(tw, f.Content); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (f File) header() *tar.Header {
	hdr := &tar.Header{
		Name: f.Path, Typeflag: f.Type, Mode: f.Mode, Linkname: f.Link,
		Uid: f.UID, Gid: f.GID, ModTime: f.ModTime, Devmajor: f.Major, Devminor: f.Minor,
		Format: tar.FormatPAX,
	}
	if hdr.Typeflag == 0 {
		hdr.Typeflag = tar.TypeReg
	}
	if hdr.ModTime.IsZero() {
		hdr.ModTime = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if hdr.Mode == 0 {
		hdr.Mode = 0o644
		if hdr.Typeflag == tar.TypeDir {
			hdr.Mode = 0o755
		}
	}
	if hdr.Typeflag == tar.TypeReg {
		hdr.Size = int64(len(f.Content))
	}
	if hdr.Typeflag == tar.TypeDir && !strings.HasSuffix(hdr.Name, "/") {
		hdr.Name += "/"
	}
	for k, v := range f.Xattrs {
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = map[string]string{}
		}
		hdr.PAXRecords["SCHILY.xattr."+k] = v
	}
	return hdr
}

// Layer is a gzip-compressed layer of files.
func Layer(files ...File) (v1.Layer, error) {
	b, err := LayerTar(files...)
	if err != nil {
		return nil, err
	}
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	})
}

// Image is an image of layers (bottom first) with cfg, for linux/GOARCH.
func Image(cfg v1.Config, layers ...v1.Layer) (v1.Image, error) {
	return ImageFor(v1.Platform{OS: "linux", Architecture: runtime.GOARCH}, cfg, layers...)
}

// ImageFor is Image for another platform.
func ImageFor(p v1.Platform, cfg v1.Config, layers ...v1.Layer) (v1.Image, error) {
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Config = cfg
	return mutate.ConfigFile(img, cf)
}

// Index is a multi-arch OCI index of images keyed by platform
// ("linux/amd64", "linux/arm64/v8").
func Index(images map[string]v1.Image) (v1.ImageIndex, error) {
	keys := make([]string, 0, len(images))
	for k := range images {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, k := range keys {
		p, err := v1.ParsePlatform(k)
		if err != nil {
			return nil, err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        images[k],
			Descriptor: v1.Descriptor{Platform: p},
		})
	}
	return idx, nil
}
