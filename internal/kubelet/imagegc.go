package kubelet

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Image garbage collection, as upstream's image GC manager: every
// ImageGCPeriod the kubelet notes when it first saw each image and when
// a container last used it; when the image filesystem's usage reaches
// ImageGCHighThresholdPercent, the least recently used images no
// container uses, older than ImageMinimumGCAge and not pinned, are
// removed through the CRI until usage is back at ImageGCLowThresholdPercent.

// ImageGCPolicy are the thresholds of image garbage collection.
type ImageGCPolicy struct {
	HighThresholdPercent, LowThresholdPercent int
	MinAge                                    time.Duration
}

// ImageRecord is what the kubelet knows of one image.
type ImageRecord struct {
	ID            string
	Size          int64
	Pinned        bool
	FirstDetected time.Time
	LastUsed      time.Time
}

// BytesToFree is how much the image filesystem must free for usage to
// drop to the low threshold, and whether it has reached the high one.
func BytesToFree(capacity, available int64, p ImageGCPolicy) (int64, bool) {
	if capacity <= 0 || p.HighThresholdPercent >= 100 {
		return 0, false
	}
	usage := 100 - int(available*100/capacity)
	if usage < p.HighThresholdPercent {
		return 0, false
	}
	return capacity*int64(100-p.LowThresholdPercent)/100 - available, true
}

// ImagesToRemove picks the images to remove to free want bytes: those no
// container uses, not pinned, detected at least MinAge before now, least
// recently used first (then the earliest detected). It returns them and
// the bytes they free, which may fall short of want. It does no I/O.
func ImagesToRemove(images []ImageRecord, inUse map[string]bool, want int64, minAge time.Duration, now time.Time) ([]ImageRecord, int64) {
	var cands []ImageRecord
	for _, im := range images {
		if inUse[im.ID] || im.Pinned || now.Sub(im.FirstDetected) < minAge {
			continue
		}
		cands = append(cands, im)
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if !cands[i].LastUsed.Equal(cands[j].LastUsed) {
			return cands[i].LastUsed.Before(cands[j].LastUsed)
		}
		return cands[i].FirstDetected.Before(cands[j].FirstDetected)
	})
	var out []ImageRecord
	var freed int64
	for _, im := range cands {
		if freed >= want {
			break
		}
		out = append(out, im)
		freed += im.Size
	}
	return out, freed
}

// imageGC keeps the records and removes images through the CRI.
type imageGC struct {
	k      *Kubelet
	policy ImageGCPolicy

	mu       sync.Mutex
	records  map[string]*ImageRecord
	failures int // consecutive failed collections
}

func newImageGC(k *Kubelet) *imageGC {
	return &imageGC{k: k, records: map[string]*ImageRecord{}, policy: ImageGCPolicy{
		HighThresholdPercent: k.opts.ImageGCHighThresholdPercent,
		LowThresholdPercent:  k.opts.ImageGCLowThresholdPercent,
		MinAge:               k.opts.ImageMinimumGCAge,
	}}
}

// loop collects every ImageGCPeriod until ctx ends.
func (g *imageGC) loop(ctx context.Context) {
	if g.k.opts.ImageGCPeriod <= 0 {
		return
	}
	t := time.NewTicker(g.k.opts.ImageGCPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := g.collect(ctx)
		if ctx.Err() != nil {
			return
		}
		g.mu.Lock()
		if err == nil {
			g.failures = 0
		} else {
			g.failures++
		}
		failures := g.failures
		g.mu.Unlock()
		if err != nil {
			// As upstream: an event after repeated failures, a log line before.
			if failures > 5 {
				g.k.recorder.Eventf(g.k.nodeRef(), corev1.EventTypeWarning, "ImageGCFailed", "%v", err)
			} else {
				g.k.log.Warn("image garbage collection failed", "err", err)
			}
		}
	}
}

// detect refreshes the records from the runtime: images present, and
// the IDs any container (running or exited) uses now.
func (g *imageGC) detect(ctx context.Context, now time.Time) ([]ImageRecord, map[string]bool, error) {
	imgs, err := g.k.rt.ListImages(ctx, &runtimeapi.ListImagesRequest{})
	if err != nil {
		return nil, nil, fmt.Errorf("list images: %w", err)
	}
	ctrs, err := g.k.rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil {
		return nil, nil, fmt.Errorf("list containers: %w", err)
	}
	// A container names its image by ID (ImageRef) or by the reference
	// it was created with: map both to image IDs.
	byName := map[string]string{}
	for _, im := range imgs.Images {
		byName[im.Id] = im.Id
		for _, n := range append(append([]string(nil), im.RepoTags...), im.RepoDigests...) {
			byName[n] = im.Id
		}
	}
	inUse := map[string]bool{}
	for _, c := range ctrs.Containers {
		for _, ref := range []string{c.ImageRef, c.GetImage().GetImage(), c.GetImageId()} {
			if id, ok := byName[ref]; ok {
				inUse[id] = true
			}
		}
	}
	g.k.markImageVolumesInUse(ctx, ctrs.Containers, byName, inUse)
	g.mu.Lock()
	defer g.mu.Unlock()
	present := map[string]bool{}
	var out []ImageRecord
	for _, im := range imgs.Images {
		present[im.Id] = true
		r, ok := g.records[im.Id]
		if !ok {
			r = &ImageRecord{ID: im.Id, FirstDetected: now}
			g.records[im.Id] = r
		}
		r.Size, r.Pinned = int64(im.Size), im.Pinned
		if inUse[im.Id] {
			r.LastUsed = now
		}
		out = append(out, *r)
	}
	for id := range g.records {
		if !present[id] {
			delete(g.records, id)
		}
	}
	return out, inUse, nil
}

// collect removes images when the image filesystem is over the high threshold.
func (g *imageGC) collect(ctx context.Context) error {
	now := time.Now()
	images, inUse, err := g.detect(ctx, now)
	if err != nil {
		return err
	}
	capacity, available, err := g.k.imageFsSpace(ctx)
	if err != nil {
		return err
	}
	want, over := BytesToFree(capacity, available, g.policy)
	if !over {
		return nil
	}
	g.k.log.Info("image filesystem over the high threshold", "usage%", 100-available*100/capacity,
		"high%", g.policy.HighThresholdPercent, "bytesToFree", want)
	freed, err := g.free(ctx, images, inUse, want, now)
	if err != nil {
		return err
	}
	if freed < want {
		err := fmt.Errorf("Failed to garbage collect required amount of images. Attempted to free %d bytes, but only found %d bytes eligible to free.", want, freed)
		g.k.recorder.Eventf(g.k.nodeRef(), corev1.EventTypeWarning, "FreeDiskSpaceFailed", "%v", err)
		return err
	}
	return nil
}

// free removes images to free want bytes and returns what it freed.
func (g *imageGC) free(ctx context.Context, images []ImageRecord, inUse map[string]bool, want int64, now time.Time) (int64, error) {
	pick, _ := ImagesToRemove(images, inUse, want, g.policy.MinAge, now)
	var freed int64
	var errs []error
	for _, im := range pick {
		g.k.log.Info("removing unused image", "image", im.ID, "size", im.Size, "lastUsed", im.LastUsed)
		if _, err := g.k.rt.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: im.ID}}); err != nil {
			errs = append(errs, fmt.Errorf("remove image %s: %w", im.ID, err))
			continue
		}
		g.mu.Lock()
		delete(g.records, im.ID)
		g.mu.Unlock()
		freed += im.Size
	}
	return freed, errors.Join(errs...)
}

// deleteUnused removes every image no container uses (for eviction's
// node-level reclaim), regardless of age, as upstream's DeleteUnusedImages.
func (g *imageGC) deleteUnused(ctx context.Context) (int64, error) {
	now := time.Now()
	images, inUse, err := g.detect(ctx, now)
	if err != nil {
		return 0, err
	}
	var pick []ImageRecord
	for _, im := range images {
		if !inUse[im.ID] && !im.Pinned {
			pick = append(pick, im)
		}
	}
	var freed int64
	var errs []error
	for _, im := range pick {
		if _, err := g.k.rt.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: im.ID}}); err != nil {
			errs = append(errs, fmt.Errorf("remove image %s: %w", im.ID, err))
			continue
		}
		g.mu.Lock()
		delete(g.records, im.ID)
		g.mu.Unlock()
		freed += im.Size
	}
	return freed, errors.Join(errs...)
}

// imageFsSpace is the image filesystem's capacity and available bytes:
// the runtime names its mountpoint (CRI ImageFsInfo), statfs measures it.
func (k *Kubelet) imageFsSpace(ctx context.Context) (capacity, available int64, err error) {
	st, err := k.imageFsStatfs(ctx)
	if err != nil {
		return 0, 0, err
	}
	return int64(st.Blocks) * st.Bsize, int64(st.Bavail) * st.Bsize, nil
}

func (k *Kubelet) imageFsStatfs(ctx context.Context) (unix.Statfs_t, error) {
	var st unix.Statfs_t
	info, err := k.rt.ImageFsInfo(ctx, &runtimeapi.ImageFsInfoRequest{})
	if err != nil {
		return st, fmt.Errorf("image filesystem info: %w", err)
	}
	mp := ""
	for _, fs := range info.GetImageFilesystems() {
		if m := fs.GetFsId().GetMountpoint(); m != "" {
			mp = m
			break
		}
	}
	if mp == "" {
		return st, fmt.Errorf("image filesystem info: the runtime names no mountpoint")
	}
	if err := unix.Statfs(mp, &st); err != nil {
		return st, fmt.Errorf("statfs image filesystem %s: %w", mp, err)
	}
	return st, nil
}

// nodeRef is the node as events name it (its name as UID, as upstream).
func (k *Kubelet) nodeRef() *corev1.ObjectReference {
	return &corev1.ObjectReference{Kind: "Node", Name: k.opts.NodeName, UID: types.UID(k.opts.NodeName)}
}
