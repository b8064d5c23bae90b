package cri

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/kemudi/kemudi/internal/cri/image"
)

// imagesService.Prune takes BoolValue (all) and answers a PruneResult as
// JSON (StringValue).
const pruneMethod = "/kemudi.runtime.v1.Images/Prune"

// PruneResult is what `kemudi image prune` freed.
type PruneResult struct {
	Images       []string `json:"images,omitempty"` // IDs removed
	CacheEntries int      `json:"cacheEntries"`     // build cache entries removed
	Snapshots    int      `json:"snapshots"`
	Blobs        int      `json:"blobs"`
	Bytes        uint64   `json:"bytes"` // layers unpacked, blobs and cache entries
}

type imagePruner interface {
	Prune(image.PruneOptions) (image.Freed, error)
}

// errBuildRunning: prune waits for no build; it refuses while one runs.
var errBuildRunning = errors.New("a build is running; prune after it ends")

// PruneImages removes the build cache no tagged image is built on and
// the build cache entries whose image is gone; with all, every untagged
// build-cache image, every cache entry and every untagged image no
// container uses. Tagged images and images containers use (or mount as
// image volumes) stay.
func (r *Runtime) PruneImages(_ context.Context, all bool) (PruneResult, error) {
	p, ok := r.images.(imagePruner)
	if !ok {
		return PruneResult{}, fmt.Errorf("prune: %w", errUnimplemented)
	}
	if !r.builds.TryLock() {
		return PruneResult{}, status.Error(codes.Unavailable, errBuildRunning.Error())
	}
	defer r.builds.Unlock()
	inUse := map[string]bool{}
	for _, c := range r.containers.list() {
		inUse[c.ImageID] = true
		for _, id := range r.imageVolumeIDs(c) {
			inUse[id] = true
		}
	}
	freed, err := p.Prune(image.PruneOptions{All: all, InUse: inUse})
	res := PruneResult{Images: freed.Images, Snapshots: freed.Snapshots, Blobs: freed.Blobs, Bytes: freed.Bytes}
	if err != nil {
		return res, err
	}
	n, bytes, err := r.pruneBuildCacheEntries(all)
	res.CacheEntries, res.Bytes = n, res.Bytes+bytes
	if err != nil {
		return res, err
	}
	r.log.Info("images pruned", "images", len(res.Images), "cacheEntries", n, "bytes", res.Bytes)
	return res, nil
}

// pruneBuildCacheEntries removes the entries of <root>/build/cache whose
// image the store no longer has (all: every entry); r.builds held.
func (r *Runtime) pruneBuildCacheEntries(all bool) (int, uint64, error) {
	dir := r.buildDir("cache")
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("prune build cache: %w", err)
	}
	var n int
	var bytes uint64
	for _, e := range ents {
		file := filepath.Join(dir, e.Name())
		if !all && !r.cacheEntryStale(file) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		if err := os.Remove(file); err != nil && !errors.Is(err, os.ErrNotExist) {
			return n, bytes, fmt.Errorf("prune build cache: %w", err)
		}
		n++
		bytes += uint64(fi.Size())
	}
	return n, bytes, nil
}

// cacheEntryStale: a leftover write, an unreadable entry, or one whose
// image is gone (a cache miss forever).
func (r *Runtime) cacheEntryStale(file string) bool {
	if !strings.HasSuffix(file, ".json") {
		return true
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return false
	}
	var s buildState
	if json.Unmarshal(raw, &s) != nil || s.Config == nil {
		return true
	}
	if s.ImageID == "" {
		return false
	}
	_, err = r.images.Get(s.ImageID)
	return isNotFound(err)
}

func (r *Runtime) servePrune(ctx context.Context, req *wrapperspb.BoolValue) (*wrapperspb.StringValue, error) {
	res, err := r.PruneImages(ctx, req.GetValue())
	if err != nil {
		return nil, grpcError(err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		return nil, err
	}
	return wrapperspb.String(string(b)), nil
}

// PruneImagesOver asks the runtime behind conn to prune (see PruneImages).
func PruneImagesOver(ctx context.Context, conn *grpc.ClientConn, all bool) (PruneResult, error) {
	reply := &wrapperspb.StringValue{}
	if err := conn.Invoke(ctx, pruneMethod, wrapperspb.Bool(all), reply); err != nil {
		return PruneResult{}, err
	}
	var res PruneResult
	if err := json.Unmarshal([]byte(reply.GetValue()), &res); err != nil {
		return PruneResult{}, fmt.Errorf("decode prune reply: %w", err)
	}
	return res, nil
}
