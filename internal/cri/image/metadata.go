package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// metadata is everything the store knows beyond the blobs and snapshot
// directories themselves. It is small and written whole, atomically.
type metadata struct {
	Images    map[string]*imageRecord    `json:"images"`    // by ID
	Snapshots map[string]*snapshotRecord `json:"snapshots"` // committed layers, by chain ID
	// Rootfs are the writable snapshots, by key. Each is kept in its own
	// directory (snapshots/<N>/rootfs.json), so that making one, which
	// every container start does, does not rewrite this file.
	Rootfs map[string]*rootfsRecord `json:"-"`
	NextID int                      `json:"nextID"`
	// BuildCache are the IDs of images a build committed for its steps
	// (buildcache.go): kept apart from the image records, which a pull
	// or commit of the same ID replaces whole, and marked before the
	// image is stored, so that a crash never leaves a step image that
	// shows as "<none>".
	BuildCache map[string]bool `json:"buildCache,omitempty"`
}

type imageRecord struct {
	Image
	// Blobs are every blob the image needs: index, manifest, config, layers.
	Blobs []string `json:"blobs"`
	// Chain are the chain IDs of its layers, bottom first.
	Chain []string `json:"chain"`
}

type snapshotRecord struct {
	ID     int    `json:"id"`
	Parent string `json:"parent,omitempty"` // chain ID
	Usage  Usage  `json:"usage"`
}

type rootfsRecord struct {
	Key    string `json:"key"`
	ID     int    `json:"-"`                // its directory's number
	Parent string `json:"parent,omitempty"` // chain ID of the image's top layer
}

func newMetadata() *metadata {
	return &metadata{
		Images:     map[string]*imageRecord{},
		Snapshots:  map[string]*snapshotRecord{},
		Rootfs:     map[string]*rootfsRecord{},
		BuildCache: map[string]bool{},
		NextID:     1,
	}
}

func loadMetadata(file string) (*metadata, error) {
	m := newMetadata()
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read image metadata: %w", err)
	}
	if err := json.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("image metadata %s: %w", file, err)
	}
	// A file written by hand or by an older version may lack a map.
	if m.Images == nil {
		m.Images = map[string]*imageRecord{}
	}
	if m.Snapshots == nil {
		m.Snapshots = map[string]*snapshotRecord{}
	}
	if m.Rootfs == nil {
		m.Rootfs = map[string]*rootfsRecord{}
	}
	if m.BuildCache == nil {
		m.BuildCache = map[string]bool{}
	}
	return m, nil
}

// save writes m to file: a new file, synced, renamed over the old one.
func (m *metadata) save(file string) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	tmp := file + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("save image metadata: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, file)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("save image metadata: %w", err)
	}
	if d, err := os.Open(filepath.Dir(file)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
