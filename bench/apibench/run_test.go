package apibench

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunSmall runs the benchmark at a small size against a real server
// process and checks what it reports is whole: every pod created, every
// event seen, one connection per client, memory read, profiles written,
// the server stopped and its data directory gone. It checks no speed.
func TestRunSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	for _, protobuf := range []bool{false, true} {
		dir := t.TempDir()
		opts := Options{
			Pods: 200, Clients: 4, Protobuf: protobuf,
			Settle:             100 * time.Millisecond,
			CPUProfile:         filepath.Join(dir, "cpu.pprof"),
			CPUProfileDuration: time.Second,
			HeapProfile:        filepath.Join(dir, "heap.pprof"),
		}
		opts.Server.Binary = kemudiBinary(t)
		opts.Server.TempRoot = dir
		res, err := Run(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		var table strings.Builder
		res.Print(&table)
		t.Log("\n" + table.String())
		if res.Created != 200 || res.Failed != 0 || res.Lost != 0 || res.Duplicates != 0 {
			t.Errorf("created %d failed %d lost %d duplicates %d, want 200 created and none failed, lost or duplicated",
				res.Created, res.Failed, res.Lost, res.Duplicates)
		}
		if res.Create.N != 200 || res.Delivery.N != 200 || res.CreatesPerSec <= 0 {
			t.Errorf("create latencies %d, delivery %d, rate %f", res.Create.N, res.Delivery.N, res.CreatesPerSec)
		}
		if res.MinDials != 1 || res.MaxDials != 1 || res.Established < 4 {
			t.Errorf("dials per client %d..%d, %d established: want one connection per client", res.MinDials, res.MaxDials, res.Established)
		}
		if res.MemIdle.RSS == 0 || res.MemAfter.Peak < res.MemAfter.RSS {
			t.Errorf("memory idle %v after %v", res.MemIdle, res.MemAfter)
		}
		if res.StopErr != nil {
			t.Errorf("server stop: %v", res.StopErr)
		}
		for _, p := range []string{opts.CPUProfile, opts.HeapProfile} {
			if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
				t.Errorf("profile %s: %v", p, err)
			}
		}
		// Only the profiles remain: the server's data directory is gone.
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".pprof") {
				t.Errorf("left behind in the temp root: %s", e.Name())
			}
		}
	}
}
