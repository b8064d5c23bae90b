package image

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Store is the image store. Its methods are safe for concurrent use.
type Store struct {
	root       string
	log        *slog.Logger
	content    *contentStore
	registries *registries
	timeout    time.Duration

	// gc excludes garbage collection (writer) from pulls and imports
	// (readers), which write blobs and snapshots no image references yet.
	gc sync.RWMutex
	mu sync.Mutex // guards meta
	// meta is the store's state; saved after every change.
	meta *metadata

	pulls  flight[Image]
	blobs  flight[struct{}]
	layers flight[struct{}]
}

// Open opens (or creates) the store under opts.Root and removes what an
// interrupted pull, import or removal left behind.
func Open(opts Options) (*Store, error) {
	if opts.Root == "" {
		return nil, fmt.Errorf("image store: no root")
	}
	root, err := filepath.Abs(opts.Root)
	if err != nil {
		return nil, fmt.Errorf("image store: %w", err)
	}
	// Overlay's mount options are separated by ',' and lowerdirs by ':'.
	if strings.ContainsAny(root, ",:") {
		return nil, fmt.Errorf("image store: root %q must not contain ',' or ':'", root)
	}
	s := &Store{root: root, log: opts.Log, timeout: opts.RegistryTimeout}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("component", "image")
	if s.timeout <= 0 {
		s.timeout = time.Minute
	}
	for _, d := range []string{root, s.snapshotsDir(), s.tmpDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("image store: %w", err)
		}
	}
	if err := markTopDir(s.snapshotsDir()); err != nil {
		s.log.Debug("snapshots not spread over block groups", "err", err)
	}
	if s.content, err = newContentStore(filepath.Join(root, "content")); err != nil {
		return nil, err
	}
	if s.registries, err = loadRegistries(opts.RegistryConfig); err != nil {
		return nil, err
	}
	if s.meta, err = loadMetadata(s.metadataFile()); err != nil {
		return nil, err
	}
	if err := s.loadRootfs(); err != nil {
		return nil, err
	}
	if err := s.cleanOrphans(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Store) snapshotsDir() string { return filepath.Join(s.root, "snapshots") }
func (s *Store) tmpDir() string       { return filepath.Join(s.root, "tmp") }
func (s *Store) metadataFile() string { return filepath.Join(s.root, "metadata.json") }

// loadRootfs finds the writable snapshots (snapshots/<N>/rootfs.json) and
// makes sure no new snapshot takes the number of an existing directory.
func (s *Store) loadRootfs() error {
	ents, err := os.ReadDir(s.snapshotsDir())
	if err != nil {
		return fmt.Errorf("image store: %w", err)
	}
	for _, e := range ents {
		id, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		s.meta.NextID = max(s.meta.NextID, id+1)
		rec, err := readRootfsRecord(s.snapshotDir(id))
		if err != nil {
			continue // not a rootfs, or one half made: an orphan unless a layer
		}
		rec.ID = id
		s.meta.Rootfs[rec.Key] = rec
	}
	return nil
}

// cleanOrphans removes snapshot directories no record names (an unpack or
// a removal a crash interrupted) and leftover import files.
func (s *Store) cleanOrphans() error {
	known := map[string]bool{}
	for _, r := range s.meta.Snapshots {
		known[strconv.Itoa(r.ID)] = true
	}
	for _, r := range s.meta.Rootfs {
		known[strconv.Itoa(r.ID)] = true
	}
	ents, err := os.ReadDir(s.snapshotsDir())
	if err != nil {
		return fmt.Errorf("image store: %w", err)
	}
	for _, e := range ents {
		if !known[e.Name()] {
			s.log.Info("removing orphaned snapshot", "dir", e.Name())
			if err := os.RemoveAll(filepath.Join(s.snapshotsDir(), e.Name())); err != nil {
				return fmt.Errorf("image store: %w", err)
			}
		}
	}
	ents, err = os.ReadDir(s.tmpDir())
	if err != nil {
		return fmt.Errorf("image store: %w", err)
	}
	for _, e := range ents {
		os.RemoveAll(filepath.Join(s.tmpDir(), e.Name()))
	}
	return nil
}

// saveLocked persists the metadata; s.mu held.
func (s *Store) saveLocked() error { return s.meta.save(s.metadataFile()) }

// List returns every image but the untagged build cache (step images of
// builds, which Get still finds), sorted by ID.
func (s *Store) List() []Image {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Image, 0, len(s.meta.Images))
	for _, r := range s.meta.Images {
		if s.hiddenLocked(r) {
			continue
		}
		out = append(out, r.Image.clone())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Get finds an image by ID, unambiguous ID prefix, tag (normalized like
// docker: "busybox" = docker.io/library/busybox:latest), or name@digest.
func (s *Store) Get(ref string) (Image, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.lookupLocked(ref)
	if err != nil {
		return Image{}, err
	}
	return r.Image.clone(), nil
}

func (s *Store) lookupLocked(ref string) (*imageRecord, error) {
	if r, ok := s.meta.Images[ref]; ok {
		return r, nil
	}
	for _, algo := range digestAlgorithms {
		if r, ok := s.meta.Images[algo+":"+ref]; ok {
			return r, nil
		}
	}
	if pr, err := parseReference(ref); err == nil {
		want := pr.tagged()
		for _, r := range s.meta.Images {
			if pr.digest != "" && slices.Contains(r.RepoDigests, pr.name()+"@"+pr.digest) {
				return r, nil
			}
			if want != "" && slices.Contains(r.RepoTags, want) {
				return r, nil
			}
		}
	}
	if algo, prefix, ok := idPrefix(ref); ok {
		var found *imageRecord
		for id, r := range s.meta.Images {
			if _, hex, _ := strings.Cut(id, ":"); strings.HasPrefix(hex, prefix) && (algo == "" || strings.HasPrefix(id, algo+":")) {
				if found != nil {
					return nil, fmt.Errorf("image %q: %w", ref, ErrAmbiguous)
				}
				found = r
			}
		}
		if found != nil {
			return found, nil
		}
	}
	return nil, fmt.Errorf("image %q: %w", ref, ErrNotFound)
}

// idPrefix says whether ref can be a prefix of an image ID and returns
// its algorithm ("" when ref names none: any) and hex part. An image's ID
// is its config's digest, sha256 or sha512.
func idPrefix(ref string) (string, string, bool) {
	algo, p, found := strings.Cut(ref, ":")
	if !found {
		algo, p = "", ref
	}
	maxLen := 128
	switch algo {
	case "", "sha512":
	case "sha256":
		maxLen = 64
	default:
		return "", "", false
	}
	if p == "" || len(p) > maxLen {
		return "", "", false
	}
	for _, c := range p {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", "", false
		}
	}
	return algo, p, true
}

func (i Image) clone() Image {
	i.RepoTags = slices.Clone(i.RepoTags)
	i.RepoDigests = slices.Clone(i.RepoDigests)
	c := &i.Config
	c.Env, c.Entrypoint, c.Cmd = slices.Clone(c.Env), slices.Clone(c.Entrypoint), slices.Clone(c.Cmd)
	c.ExposedPorts, c.Volumes = slices.Clone(c.ExposedPorts), slices.Clone(c.Volumes)
	if c.Labels != nil {
		l := make(map[string]string, len(c.Labels))
		for k, v := range c.Labels {
			l[k] = v
		}
		c.Labels = l
	}
	return i
}
