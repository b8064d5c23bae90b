package image

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// contentStore holds blobs addressed by digest. A blob is verified while it
// is written and becomes visible (renamed into blobs/) only when its digest
// and size match, so a blob in the store is always what its name says.
type contentStore struct {
	root string

	mu        sync.Mutex
	ingesting map[v1.Hash]*ingestion // blobs being written, for openFollow
	changed   chan struct{}          // closed (and replaced) when one starts
}

func newContentStore(root string) (*contentStore, error) {
	c := &contentStore{root: root, changed: make(chan struct{})}
	for _, d := range append(c.algoDirs(), c.ingestDir()) {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("content store: %w", err)
		}
	}
	// Writes that a crash interrupted are garbage.
	ents, err := os.ReadDir(c.ingestDir())
	if err != nil {
		return nil, fmt.Errorf("content store: %w", err)
	}
	for _, e := range ents {
		os.RemoveAll(filepath.Join(c.ingestDir(), e.Name()))
	}
	return c, nil
}

// Blobs live under blobs/<algorithm>/<hex>, as in an OCI layout: the
// digests the OCI image spec registers, sha256 and sha512, are taken.
var digestAlgorithms = []string{"sha256", "sha512"}

func (c *contentStore) blobDir() string            { return c.algoDir("sha256") }
func (c *contentStore) algoDir(algo string) string { return filepath.Join(c.root, "blobs", algo) }
func (c *contentStore) ingestDir() string          { return filepath.Join(c.root, "ingest") }
func (c *contentStore) path(d v1.Hash) string      { return filepath.Join(c.algoDir(d.Algorithm), d.Hex) }

// algoDirs are the blob directories, one an algorithm.
func (c *contentStore) algoDirs() []string {
	dirs := make([]string, len(digestAlgorithms))
	for i, algo := range digestAlgorithms {
		dirs[i] = c.algoDir(algo)
	}
	return dirs
}

func (c *contentStore) has(d v1.Hash) bool {
	_, err := os.Stat(c.path(d))
	return err == nil
}

func (c *contentStore) open(d v1.Hash) (*os.File, error) {
	f, err := os.Open(c.path(d))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("blob %s: %w", d, ErrNotFound)
	}
	return f, err
}

func (c *contentStore) read(d v1.Hash) ([]byte, error) {
	f, err := c.open(d)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// write stores the blob r must be. size < 0 means unknown. A blob whose
// digest or size does not match is rejected and leaves nothing behind.
func (c *contentStore) write(d v1.Hash, size int64, r io.Reader) (err error) {
	h, err := blobHasher(d)
	if err != nil {
		return err
	}
	if c.has(d) {
		return nil
	}
	f, err := os.CreateTemp(c.ingestDir(), d.Hex+"-")
	if err != nil {
		return fmt.Errorf("blob %s: %w", d, err)
	}
	in := c.startIngestion(d, f.Name())
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
		c.endIngestion(d, in, err)
	}()
	if size >= 0 {
		// One byte more than announced is enough to know it is too long.
		r = io.LimitReader(r, size+1)
	}
	// Big writes: fewer syscalls, and fewer wake-ups of a follower.
	n, err := io.CopyBuffer(io.MultiWriter(ingestWriter{f, in}, h), r, make([]byte, 1<<20))
	if err != nil {
		return fmt.Errorf("blob %s: %w", d, err)
	}
	if size >= 0 && n != size {
		return fmt.Errorf("blob %s: size %d, want %d", d, n, size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != d.Hex {
		return fmt.Errorf("blob %s: digest mismatch: content is %s:%s", d, d.Algorithm, got)
	}
	in.verify()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("blob %s: %w", d, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("blob %s: %w", d, err)
	}
	if err := os.Rename(f.Name(), c.path(d)); err != nil {
		return fmt.Errorf("blob %s: %w", d, err)
	}
	return nil
}

func (c *contentStore) writeBytes(d v1.Hash, b []byte) error {
	return c.write(d, int64(len(b)), bytes.NewReader(b))
}

func (c *contentStore) remove(d v1.Hash) error {
	if err := os.Remove(c.path(d)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove blob %s: %w", d, err)
	}
	return nil
}

// walk calls fn for every blob.
func (c *contentStore) walk(fn func(d v1.Hash, size int64)) error {
	for _, algo := range digestAlgorithms {
		ents, err := os.ReadDir(c.algoDir(algo)) // newContentStore made it
		if err != nil {
			return err
		}
		for _, e := range ents {
			info, err := e.Info()
			if err != nil {
				continue
			}
			fn(v1.Hash{Algorithm: algo, Hex: e.Name()}, info.Size())
		}
	}
	return nil
}

// blobHasher hashes content for digest d: sha256 or sha512 with the
// right number of hex digits, anything else unsupported.
func blobHasher(d v1.Hash) (hash.Hash, error) {
	if !slices.Contains(digestAlgorithms, d.Algorithm) {
		return nil, fmt.Errorf("blob %s: %w: unsupported digest algorithm %q (sha256 and sha512 are)", d, ErrInvalidReference, d.Algorithm)
	}
	h, err := v1.Hasher(d.Algorithm)
	if err != nil || len(d.Hex) != hex.EncodedLen(h.Size()) {
		return nil, fmt.Errorf("blob %s: %w: malformed digest", d, ErrInvalidReference)
	}
	return h, nil
}
