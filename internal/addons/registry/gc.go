package registry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/distribution/distribution/v3"
	"github.com/distribution/distribution/v3/registry/storage"
	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
)

// CollectGarbage removes the blobs no manifest references (those of
// deleted manifests and of abandoned pushes) from the storage under
// layout, with distribution's mark and sweep. Run it while nothing pushes
// to that storage: it refuses (ErrServing) while a registry serves it,
// which collects on its own timer.
func CollectGarbage(ctx context.Context, layout Layout) error {
	if _, err := os.Stat(layout.Storage); err != nil {
		return fmt.Errorf("registry storage: %w", err)
	}
	l, err := lock(layout, syscall.LOCK_EX|syscall.LOCK_NB)
	if err != nil {
		return err
	}
	defer l.Close()
	driver := filesystem.New(filesystem.DriverParameters{RootDirectory: layout.Storage, MaxThreads: 100})
	ns, err := storage.NewRegistry(ctx, driver, storage.EnableDelete)
	if err != nil {
		return fmt.Errorf("registry storage: %w", err)
	}
	return markAndSweep(ctx, driver, ns)
}

// markAndSweep runs distribution's collection; a storage nothing was
// ever pushed to has nothing to collect (distribution's mark would fail
// on the missing repositories directory).
func markAndSweep(ctx context.Context, driver storagedriver.StorageDriver, ns distribution.Namespace) error {
	var notFound storagedriver.PathNotFoundError
	if _, err := driver.Stat(ctx, "/docker/registry/v2/repositories"); errors.As(err, &notFound) {
		return nil
	}
	if gns, ok := newGCNamespace(ns); ok {
		ns = gns
	}
	if err := storage.MarkAndSweep(ctx, driver, ns, storage.GCOpts{Quiet: true}); err != nil {
		return fmt.Errorf("registry gc: %w", err)
	}
	return nil
}

// CollectGarbage runs a collection now, holding off writes while it runs.
func (r *Registry) CollectGarbage(ctx context.Context) error {
	r.gcLock.Lock()
	defer r.gcLock.Unlock()
	start := time.Now()
	if err := markAndSweep(ctx, r.driver, r.ns); err != nil {
		return err
	}
	r.log.Info("registry garbage collected", "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// gcLoop collects garbage every GCInterval, once no write has come for
// GCQuiet (a push's blobs are unreferenced until its manifest comes).
func (r *Registry) gcLoop(ctx context.Context) {
	if r.opts.GCInterval < 0 {
		return
	}
	t := time.NewTicker(r.opts.GCInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if time.Since(r.lastWrite.get()) < r.opts.GCQuiet {
			continue
		}
		if err := r.CollectGarbage(ctx); err != nil {
			r.log.Error("registry gc", "err", err)
		}
	}
}
