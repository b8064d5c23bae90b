package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// maxParallelLayers is how many layers of one image download at once.
const maxParallelLayers = 3

// ingest stores img (manifest, config, layers, and extra blobs such as the
// index it came from), unpacks its layers into snapshots, and records it
// under tags and digests. Every blob is verified against its digest and
// every layer against its diff ID on the way in. s.gc is read-held.
func (s *Store) ingest(ctx context.Context, img v1.Image, extra map[v1.Hash][]byte, tags, digests []string) (Image, error) {
	rawManifest, err := img.RawManifest()
	if err != nil {
		return Image{}, fmt.Errorf("manifest: %w", err)
	}
	mdigest, err := img.Digest()
	if err != nil {
		return Image{}, fmt.Errorf("manifest: %w", err)
	}
	manifest, err := img.Manifest()
	if err != nil {
		return Image{}, fmt.Errorf("manifest: %w", err)
	}
	rawConfig, err := img.RawConfigFile()
	if err != nil {
		return Image{}, fmt.Errorf("config: %w", err)
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(rawConfig))
	if err != nil {
		return Image{}, fmt.Errorf("config: %w", err)
	}
	diffIDs := cfg.RootFS.DiffIDs
	if len(diffIDs) != len(manifest.Layers) {
		return Image{}, fmt.Errorf("image has %d layers but its config %d diff IDs", len(manifest.Layers), len(diffIDs))
	}
	layers, err := img.Layers()
	if err != nil {
		return Image{}, fmt.Errorf("layers: %w", err)
	}
	if len(layers) != len(manifest.Layers) {
		return Image{}, fmt.Errorf("image has %d layers, its manifest %d", len(layers), len(manifest.Layers))
	}
	blobs := []string{mdigest.String(), manifest.Config.Digest.String()}
	for d, b := range extra {
		if err := s.content.writeBytes(d, b); err != nil {
			return Image{}, err
		}
		blobs = append(blobs, d.String())
	}
	if err := s.content.writeBytes(mdigest, rawManifest); err != nil {
		return Image{}, err
	}
	if err := s.content.writeBytes(manifest.Config.Digest, rawConfig); err != nil {
		return Image{}, fmt.Errorf("config: %w", err)
	}
	chain := chainIDs(diffIDs)
	if err := s.pullLayers(ctx, manifest.Layers, layers, diffIDs, chain); err != nil {
		return Image{}, err
	}
	var size uint64
	for _, l := range manifest.Layers {
		size += uint64(l.Size)
		blobs = append(blobs, l.Digest.String())
	}
	rec := &imageRecord{
		Image: Image{ID: manifest.Config.Digest.String(), Size: size, Config: imageConfig(cfg)},
		Blobs: blobs,
		Chain: chain,
	}
	return s.register(rec, tags, digests)
}

// pullLayers stores the layers not yet in the content store, a few at a
// time (a layer another pull is fetching is waited for, not fetched
// again), and unpacks each into its snapshot as it arrives: layer i
// unpacks while it and the layers above it download, once the layers
// below it are unpacked (a layer's hard links and implied directories
// may need them).
func (s *Store) pullLayers(ctx context.Context, descs []v1.Descriptor, layers []v1.Layer, diffIDs []v1.Hash, chain []string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fetched, fetchErrs := s.startFetches(ctx, descs, layers)
	var unpackErr error
	for i, d := range descs {
		parent := ""
		if i > 0 {
			parent = chain[i-1]
		}
		if err := s.ensureSnapshot(ctx, chain[i], parent, d.Digest, diffIDs[i], fetched[i]); err != nil {
			unpackErr = err
			cancel()
			break
		}
	}
	for _, f := range fetched {
		<-f
	}
	// A fetch's own error says more than the unpack that followed it
	// (a digest mismatch fails both).
	for _, err := range fetchErrs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	if unpackErr != nil {
		return unpackErr
	}
	for _, err := range fetchErrs {
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}

// startFetches fetches the layers not yet in the content store, at most
// maxParallelLayers at once, in order. fetched[i] is closed when layer
// i's fetch has ended (at once for a stored layer); errs[i] is its error,
// to read after that.
func (s *Store) startFetches(ctx context.Context, descs []v1.Descriptor, layers []v1.Layer) (fetched []chan struct{}, errs []error) {
	sem := make(chan struct{}, maxParallelLayers)
	errs = make([]error, len(layers))
	fetched = make([]chan struct{}, len(layers))
	for i := range fetched {
		fetched[i] = make(chan struct{})
	}
	go func() {
		for i := range layers {
			d := descs[i]
			if s.content.has(d.Digest) {
				close(fetched[i])
				continue
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				for j := i; j < len(layers); j++ {
					errs[j] = ctx.Err()
					close(fetched[j])
				}
				return
			}
			go func() {
				defer close(fetched[i])
				defer func() { <-sem }()
				_, errs[i] = s.blobs.do(d.Digest.String(), func() (struct{}, error) {
					return struct{}{}, s.fetchLayer(ctx, d, layers[i])
				})
			}()
		}
	}()
	return fetched, errs
}

func (s *Store) fetchLayer(ctx context.Context, d v1.Descriptor, l v1.Layer) error {
	if s.content.has(d.Digest) {
		return nil
	}
	rc, err := openCompressed(ctx, l)
	if err != nil {
		return fmt.Errorf("layer %s: %w", d.Digest, err)
	}
	defer rc.Close()
	if err := s.content.write(d.Digest, d.Size, ctxReader{ctx, rc}); err != nil {
		return fmt.Errorf("layer %s: %w", d.Digest, err)
	}
	return nil
}

// ctxReader stops a copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// register records rec, merging with the image of the same ID if there is
// one; a tag moves to rec from whichever image had it.
func (s *Store) register(rec *imageRecord, tags, digests []string) (Image, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.meta.Images[rec.ID]; ok {
		rec.RepoTags, rec.RepoDigests = old.RepoTags, old.RepoDigests
		rec.Blobs = union(old.Blobs, rec.Blobs)
	}
	for _, t := range tags {
		for _, other := range s.meta.Images {
			if other.ID != rec.ID {
				other.RepoTags = slices.DeleteFunc(other.RepoTags, func(x string) bool { return x == t })
			}
		}
	}
	rec.RepoTags = union(rec.RepoTags, tags)
	rec.RepoDigests = union(rec.RepoDigests, digests)
	s.meta.Images[rec.ID] = rec
	if err := s.saveLocked(); err != nil {
		return Image{}, err
	}
	return rec.Image.clone(), nil
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, x := range b {
		if x != "" && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func imageConfig(cf *v1.ConfigFile) ImageConfig {
	c := cf.Config
	return ImageConfig{
		User: c.User, WorkingDir: c.WorkingDir, StopSignal: c.StopSignal,
		Env: c.Env, Entrypoint: c.Entrypoint, Cmd: c.Cmd, Labels: c.Labels,
		ExposedPorts: sortedSet(c.ExposedPorts), Volumes: sortedSet(c.Volumes),
	}
}

func sortedSet(m map[string]struct{}) []string {
	if len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
