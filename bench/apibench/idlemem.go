package apibench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kemudi/kemudi/bench/harness"
)

// IdleMemory is the server's memory at one idle moment, read three
// ways, because RSS alone mixes what a change costs with what it does
// not:
//   - RSS (VmRSS) and its anonymous and file-backed parts (RssAnon,
//     RssFile). File-backed pages are the binary's text and etcd's
//     mapped database: clean, shared with the page cache, reclaimable,
//     and resident or not by what code ran and how the kernel faulted
//     it in (a fault maps a whole page cache folio, up to 2 MiB, unless
//     the server split them: see cluster.ReleaseStartupPages).
//   - PSS (smaps_rollup): shared pages divided among their users.
//   - After a forced garbage collection: the Go heap in use then is the
//     live heap, without the garbage of the last burst that RSS holds
//     until the next collection (Go collects when the heap doubles, or
//     every 2 minutes).
type IdleMemory struct {
	harness.Memory
	PSS, PSSAnon, PSSFile uint64
	// GCed is the memory a settle after a forced collection; HeapGCed
	// the Go heap in use right after it.
	GCed     harness.Memory
	HeapGCed uint64
	// Heap is the Go heap in use at the first reading.
	Heap uint64
}

// readIdleMemory reads m now, then forces a collection (the pprof heap
// endpoint's gc=1), waits settle and reads it again.
func readIdleMemory(ctx context.Context, srv *harness.Server, settle time.Duration) (IdleMemory, error) {
	var m IdleMemory
	var err error
	if m.Memory, err = srv.Memory(); err != nil {
		return m, err
	}
	if m.PSS, m.PSSAnon, m.PSSFile, err = readPSS(srv.PID); err != nil {
		return m, err
	}
	m.Heap = readCounters(ctx, srv).HeapInuse
	dir, err := os.MkdirTemp("", "apibench-gc")
	if err != nil {
		return m, err
	}
	defer os.RemoveAll(dir)
	if err := srv.Profile(ctx, "heap", url.Values{"gc": {"1"}}, time.Minute, filepath.Join(dir, "heap")); err != nil {
		return m, fmt.Errorf("force a collection: %w", err)
	}
	m.HeapGCed = readCounters(ctx, srv).HeapInuse
	select {
	case <-time.After(settle):
	case <-ctx.Done():
		return m, ctx.Err()
	}
	m.GCed, err = srv.Memory()
	return m, err
}

// readPSS reads Pss, Pss_Anon and Pss_File from /proc/pid/smaps_rollup.
func readPSS(pid int) (pss, anon, file uint64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, 0, 0, err
	}
	defer f.Close()
	vals, err := parseRollup(f, "Pss", "Pss_Anon", "Pss_File")
	return vals[0], vals[1], vals[2], err
}

// parseRollup reads the named "Name:   123 kB" lines, in bytes.
func parseRollup(r io.Reader, names ...string) ([]uint64, error) {
	out := make([]uint64, len(names))
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		for i, n := range names {
			if name != n {
				continue
			}
			parts := strings.Fields(rest)
			if len(parts) != 2 || parts[1] != "kB" {
				return out, fmt.Errorf("unexpected line %q", sc.Text())
			}
			kb, err := strconv.ParseUint(parts[0], 10, 64)
			if err != nil {
				return out, fmt.Errorf("%s: %w", name, err)
			}
			out[i] = kb << 10
		}
	}
	return out, sc.Err()
}

// growth prints what the CRDs added, each way.
func (after IdleMemory) growth(before IdleMemory) string {
	d := func(a, b uint64) string {
		return fmt.Sprintf("%.1f -> %.1f MiB (%+.1f)", harness.MiB(b), harness.MiB(a), harness.MiB(a)-harness.MiB(b))
	}
	return fmt.Sprintf("  idle rss %s: anon %s, file %s\n  idle pss %s: anon %s, file %s\n  after a forced GC and a settle: rss %s: anon %s, file %s; go heap in use right after the GC %s",
		d(after.RSS, before.RSS), d(after.Anon, before.Anon), d(after.File, before.File),
		d(after.PSS, before.PSS), d(after.PSSAnon, before.PSSAnon), d(after.PSSFile, before.PSSFile),
		d(after.GCed.RSS, before.GCed.RSS), d(after.GCed.Anon, before.GCed.Anon), d(after.GCed.File, before.GCed.File),
		d(after.HeapGCed, before.HeapGCed))
}
