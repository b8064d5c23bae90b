package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Rootfs is a container's root filesystem: the image's layers under a
// writable upper directory, to be mounted as an overlay.
type Rootfs struct {
	Lower []string // top first
	Upper string
	Work  string
}

// PrepareRootfs makes a writable layer named key on top of the layers of
// the image (by ID or any reference Get takes). The image's layers stay
// while the rootfs exists, even if the image is removed.
func (s *Store) PrepareRootfs(ctx context.Context, key, imageID string) (Rootfs, error) {
	if key == "" {
		return Rootfs{}, fmt.Errorf("prepare rootfs: empty key")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.meta.Rootfs[key]; ok {
		return Rootfs{}, fmt.Errorf("rootfs %q: %w", key, ErrAlreadyExists)
	}
	img, err := s.lookupLocked(imageID)
	if err != nil {
		return Rootfs{}, fmt.Errorf("prepare rootfs %q: %w", key, err)
	}
	rec := &rootfsRecord{ID: s.meta.NextID}
	if n := len(img.Chain); n > 0 {
		rec.Parent = img.Chain[n-1]
		if len(s.chainDirsLocked(rec.Parent)) != n {
			return Rootfs{}, fmt.Errorf("prepare rootfs %q: layers of image %s missing", key, img.ID)
		}
	}
	s.meta.NextID++
	dir, err := s.makeSnapshotDir(rec.ID, "fs", "work", "empty")
	if err != nil {
		return Rootfs{}, fmt.Errorf("prepare rootfs %q: %w", key, err)
	}
	rec.Key = key
	if err := writeRootfsRecord(dir, rec); err != nil {
		os.RemoveAll(dir)
		return Rootfs{}, fmt.Errorf("prepare rootfs %q: %w", key, err)
	}
	s.meta.Rootfs[key] = rec
	return s.rootfsLocked(rec), nil
}

func (s *Store) rootfsLocked(rec *rootfsRecord) Rootfs {
	dir := s.snapshotDir(rec.ID)
	r := Rootfs{Lower: s.chainDirsLocked(rec.Parent), Upper: filepath.Join(dir, "fs"), Work: filepath.Join(dir, "work")}
	if len(r.Lower) == 0 {
		// An image without layers: overlay wants a lower dir all the same.
		r.Lower = []string{filepath.Join(dir, "empty")}
	}
	return r
}

// Rootfs returns the rootfs named key (after a restart, say); ErrNotFound.
func (s *Store) Rootfs(key string) (Rootfs, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.meta.Rootfs[key]
	if !ok {
		return Rootfs{}, fmt.Errorf("rootfs %q: %w", key, ErrNotFound)
	}
	return s.rootfsLocked(rec), nil
}

// RemoveRootfs removes the writable layer key (unmount it first). Removing
// one that does not exist is no error.
func (s *Store) RemoveRootfs(key string) error {
	s.mu.Lock()
	rec, ok := s.meta.Rootfs[key]
	if !ok {
		s.mu.Unlock()
		return nil
	}
	// Without its record the directory is an orphan: if a crash stops the
	// removal, Open finishes it.
	err := os.Remove(filepath.Join(s.snapshotDir(rec.ID), rootfsRecordFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.mu.Unlock()
		return fmt.Errorf("remove rootfs %q: %w", key, err)
	}
	delete(s.meta.Rootfs, key)
	s.mu.Unlock()
	if err := os.RemoveAll(s.snapshotDir(rec.ID)); err != nil {
		return fmt.Errorf("remove rootfs %q: %w", key, err)
	}
	return nil
}

// RootfsUsage is the space and inodes the writable layer key takes.
func (s *Store) RootfsUsage(key string) (Usage, error) {
	s.mu.Lock()
	rec, ok := s.meta.Rootfs[key]
	s.mu.Unlock()
	if !ok {
		return Usage{}, fmt.Errorf("rootfs %q: %w", key, ErrNotFound)
	}
	u, err := diskUsage(filepath.Join(s.snapshotDir(rec.ID), "fs"))
	if err != nil {
		return Usage{}, fmt.Errorf("rootfs %q usage: %w", key, err)
	}
	return u, nil
}

// Root is the directory images and writable layers live under: the
// mount point FsInfo reports, without walking the content to count it.
func (s *Store) Root() string { return s.root }

// FsInfo describes the image filesystem: the store's root, and the space
// and inodes its blobs and unpacked layers take (containers' writable
// layers are counted by RootfsUsage).
func (s *Store) FsInfo() (FsInfo, error) {
	info := FsInfo{Mountpoint: s.root}
	err := s.content.walk(func(_ v1.Hash, size int64) {
		info.Bytes += uint64(size)
		info.Inodes++
	})
	if err != nil {
		return FsInfo{}, fmt.Errorf("image fs info: %w", err)
	}
	s.mu.Lock()
	for _, r := range s.meta.Snapshots {
		info.Bytes += r.Usage.Bytes
		info.Inodes += r.Usage.Inodes
	}
	s.mu.Unlock()
	return info, nil
}

const rootfsRecordFile = "rootfs.json"

// writeRootfsRecord writes a rootfs's record into its directory (renamed
// into place whole; not synced: it must survive the runtime's crash, which
// the page cache does, more than the machine's).
func writeRootfsRecord(dir string, rec *rootfsRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, rootfsRecordFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, rootfsRecordFile))
}

func readRootfsRecord(dir string) (*rootfsRecord, error) {
	b, err := os.ReadFile(filepath.Join(dir, rootfsRecordFile))
	if err != nil {
		return nil, err
	}
	var rec rootfsRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, err
	}
	if rec.Key == "" {
		return nil, fmt.Errorf("rootfs record in %s has no key", dir)
	}
	return &rec, nil
}
