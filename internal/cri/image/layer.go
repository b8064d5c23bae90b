package image

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// chainIDs are the OCI chain IDs of a stack of layers, bottom first: the
// identity of a layer together with everything below it.
func chainIDs(diffIDs []v1.Hash) []string {
	out := make([]string, len(diffIDs))
	for i, d := range diffIDs {
		if i == 0 {
			out[i] = d.String()
			continue
		}
		sum := sha256.Sum256([]byte(out[i-1] + " " + d.String()))
		out[i] = "sha256:" + hex.EncodeToString(sum[:])
	}
	return out
}

func (s *Store) snapshotDir(id int) string { return filepath.Join(s.snapshotsDir(), strconv.Itoa(id)) }

// chainDirsLocked are the directories of the layers of chain ID top and
// below it, top first; s.mu held.
func (s *Store) chainDirsLocked(top string) []string {
	var dirs []string
	for c := top; c != ""; {
		r, ok := s.meta.Snapshots[c]
		if !ok {
			break
		}
		dirs = append(dirs, filepath.Join(s.snapshotDir(r.ID), "fs"))
		c = r.Parent
	}
	return dirs
}

// ensureSnapshot unpacks the layer blob (uncompressed digest diffID) on
// top of the snapshot parent into the snapshot chainID, unless it exists.
// A layer whose content does not match diffID leaves nothing behind. The
// blob is read as it is stored or downloaded (see openFollow; fetched is
// closed when its fetch ended).
func (s *Store) ensureSnapshot(ctx context.Context, chainID, parent string, blob, diffID v1.Hash, fetched <-chan struct{}) error {
	_, err := s.layers.do(chainID, func() (struct{}, error) {
		s.mu.Lock()
		if _, ok := s.meta.Snapshots[chainID]; ok {
			s.mu.Unlock()
			return struct{}{}, nil
		}
		id := s.meta.NextID
		s.meta.NextID++
		parents := s.chainDirsLocked(parent)
		s.mu.Unlock()

		dir, err := s.makeSnapshotDir(id, "fs")
		if err != nil {
			return struct{}{}, fmt.Errorf("layer %s: %w", blob, err)
		}
		fsDir := filepath.Join(dir, "fs")
		if err := s.unpackBlob(ctx, blob, diffID, fsDir, parents, fetched); err != nil {
			os.RemoveAll(dir)
			return struct{}{}, err
		}
		usage, err := diskUsage(fsDir)
		if err != nil {
			os.RemoveAll(dir)
			return struct{}{}, fmt.Errorf("layer %s: %w", blob, err)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.meta.Snapshots[chainID] = &snapshotRecord{ID: id, Parent: parent, Usage: usage}
		if err := s.saveLocked(); err != nil {
			delete(s.meta.Snapshots, chainID)
			os.RemoveAll(dir)
			return struct{}{}, err
		}
		return struct{}{}, nil
	})
	return err
}

func (s *Store) unpackBlob(ctx context.Context, blob, diffID v1.Hash, dir string, parents []string, fetched <-chan struct{}) error {
	f, err := s.content.openFollow(ctx, blob, fetched)
	if err != nil {
		return fmt.Errorf("unpack layer %s: %w", blob, err)
	}
	defer f.Close()
	rc, err := decompress(bufio.NewReaderSize(f, 256<<10))
	if err != nil {
		return fmt.Errorf("unpack layer %s: %w", blob, err)
	}
	defer rc.Close()
	h, err := v1.Hasher(diffID.Algorithm)
	if err != nil {
		return fmt.Errorf("unpack layer %s: diff ID %s: %w", blob, diffID, err)
	}
	tee := newReadAhead(rc, h)
	defer tee.Close()
	opts := unpackOptions{AllowDevices: os.Geteuid() == 0, Parents: parents}
	if err := unpackLayer(tee, dir, opts); err != nil {
		return fmt.Errorf("unpack layer %s: %w", blob, err)
	}
	// The diff ID covers the whole stream, padding after the tar's end too.
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return fmt.Errorf("unpack layer %s: %w", blob, err)
	}
	if got := diffID.Algorithm + ":" + hex.EncodeToString(h.Sum(nil)); got != diffID.String() {
		return fmt.Errorf("unpack layer %s: uncompressed digest %s, the image config says %s", blob, got, diffID)
	}
	return nil
}

// decompress recognizes gzip and zstd by their magic numbers; anything
// else is taken as an uncompressed tar. klauspost's gzip, not the
// standard library's: it inflates about twice as fast, and inflating is
// most of a cold pull's CPU time.
func decompress(r *bufio.Reader) (io.ReadCloser, error) {
	magic, _ := r.Peek(4)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		return gzip.NewReader(r)
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		d, err := zstd.NewReader(r)
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	}
	return io.NopCloser(r), nil
}
