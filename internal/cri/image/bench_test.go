package image

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/kemudi/kemudi/internal/testimages"
)

// BenchmarkPrepareRootfs: the image-side cost of creating a container.
func BenchmarkPrepareRootfs(b *testing.B) {
	requireRoot(b)
	reg := newRegistry(b)
	mustPush(b, reg, "app:1", mustImage(b, v1.Config{}, mustLayer(b, F{Path: "f", Content: "f"})))
	s := newStore(b, Options{})
	img, err := s.Pull(context.Background(), reg.Ref("app:1"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		key := fmt.Sprint("c", i)
		if _, err := s.PrepareRootfs(context.Background(), key, img.ID); err != nil {
			b.Fatal(err)
		}
		if err := s.RemoveRootfs(key); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPull: a cold pull (download, verify, unpack) of the tutorial's
// Python base image (a Debian rootfs, thousands of files) from a loopback
// registry into a store that removed it just before (untimed), as a node
// does whose image was removed; the first pull goes into an empty store.
// It reports CPU time per pull beside wall time: the machine is shared,
// and CPU is what load does not change. The store lives under $TMPDIR:
// its filesystem's file creation is most of an unpack.
func BenchmarkPull(b *testing.B) {
	requireRoot(b)
	// Only a cached one: building it needs Debian's mirror.
	found, _ := filepath.Glob(filepath.Join(testimages.CacheDir(), "python-flask-base-*.tar"))
	if len(found) == 0 {
		b.Skip("no cached Python base image in " + testimages.CacheDir() + ": run the e2e tutorial once")
	}
	img, err := tarball.ImageFromPath(found[0], nil)
	if err != nil {
		b.Fatal(err)
	}
	reg := newRegistry(b)
	mustPush(b, reg, "py:1", img)
	ref := reg.Ref("py:1")
	s := newStore(b, Options{Log: slog.New(slog.DiscardHandler)})
	var cpu time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := selfCPU()
		if _, err := s.Pull(context.Background(), ref, nil); err != nil {
			b.Fatal(err)
		}
		cpu += selfCPU() - start
		b.StopTimer()
		if err := s.Remove(ref); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
