package openapi

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// retainedLimit bounds the heap the built documents keep: their gzip'd
// bytes and little else. The spec trees the build makes must not stay.
const retainedLimit = 8 << 20

func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// procStatus returns a field of /proc/self/status, e.g. VmRSS.
func procStatus(field string) string {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// peakHeap samples the heap in use until stop is closed and then sends
// the largest value seen.
func peakHeap(stop <-chan struct{}, peak chan<- uint64) {
	var max uint64
	var m runtime.MemStats
	for {
		runtime.ReadMemStats(&m)
		if m.HeapInuse > max {
			max = m.HeapInuse
		}
		select {
		case <-stop:
			peak <- max
			return
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// TestRetainedMemory reports what building the documents costs and what
// it keeps; run it with -v to see the figures.
func TestRetainedMemory(t *testing.T) {
	resources := testResources()
	rssBefore, hwmBefore := procStatus("VmRSS"), procStatus("VmHWM")
	before := heapAfterGC()
	var m0 runtime.MemStats
	runtime.ReadMemStats(&m0)

	stop, peak := make(chan struct{}), make(chan uint64)
	go peakHeap(stop, peak)
	start := time.Now()
	d := New(resources)
	if err := d.Build(); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	close(stop)
	peakInuse := <-peak
	var m1 runtime.MemStats
	runtime.ReadMemStats(&m1)
	after := heapAfterGC()

	v2j, _ := d.v2JSON()
	v2p, _ := d.v2Proto()
	docs, _ := d.v3()
	served := len(v2j.gz) + len(v2p.gz) + len(docs.discovery.gz)
	for _, v := range docs.docs {
		served += len(v.json.gz)
	}
	retained := int64(after) - int64(before)
	t.Logf("%d resources, %d v3 documents: built in %v, allocated %.1f MiB, peak heap in use %.1f MiB (%.1f before), "+
		"retained heap %.2f MiB (gzip'd documents %.2f MiB); RSS %s -> %s, peak RSS %s -> %s",
		len(d.resources), len(docs.docs), took.Round(time.Millisecond), float64(m1.TotalAlloc-m0.TotalAlloc)/(1<<20),
		float64(peakInuse)/(1<<20), float64(m0.HeapInuse)/(1<<20),
		float64(retained)/(1<<20), float64(served)/(1<<20), rssBefore, procStatus("VmRSS"), hwmBefore, procStatus("VmHWM"))
	if retained > retainedLimit {
		t.Errorf("the documents keep %d bytes of heap, more than %d", retained, retainedLimit)
	}
	runtime.KeepAlive(d)
}

func BenchmarkBuild(b *testing.B) {
	resources := New(testResources()).resources
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		j, err := buildV2JSON(resources)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := v2Proto(j); err != nil {
			b.Fatal(err)
		}
		if _, err := buildV3JSON(resources); err != nil {
			b.Fatal(err)
		}
	}
}
