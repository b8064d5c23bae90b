package exepages

import (
	"testing"
	"time"
)

// The trimmer releases once the process is quiet and settled after
// growing a few MiB, and not while it is busy or still growing.
func TestTrimmerReleasesOnceQuietAfterGrowth(t *testing.T) {
	const mib = 1 << 20
	ms := time.Millisecond
	steps := []struct {
		name    string
		cpu     time.Duration // since the previous sample
		rss     int64
		release bool
	}{
		{"start: the first look", 0, 20 * mib, false},
		{"quiet, not grown", ms, 21 * mib, false},
		{"a burst grows it", 2 * time.Second, 60 * mib, false},
		{"still busy", 500 * ms, 62 * mib, false},
		{"quiet after the burst, settled", 10 * ms, 62 * mib, true},
		{"after the release: the first look", ms, 24 * mib, false},
		{"quiet, working set back", 2 * ms, 26 * mib, false},
		{"light calls, a little more", 40 * ms, 27 * mib, false},
		{"quiet, grown 3 MiB", 30 * ms, 27 * mib, false},
		{"quiet and grown 5 MiB, still growing", 30 * ms, 29 * mib, false},
		{"settled at that", 30 * ms, 29 * mib, true},
		{"after the release", ms, 22 * mib, false},
		{"serving pods: little CPU, growing", 20 * ms, 43 * mib, false},
		{"scavenged while serving", 20 * ms, 21 * mib, false},
		{"growing again", 20 * ms, 40 * mib, false},
		{"settled: grown 19 MiB from its lowest", 20 * ms, 40 * mib, true},
	}
	var tr trimmer
	var cpu time.Duration
	for _, s := range steps {
		cpu += s.cpu
		if got := tr.next(sample{cpu: cpu, rss: s.rss}); got != s.release {
			t.Errorf("%s: release %v, want %v", s.name, got, s.release)
		}
	}
}

func TestReadSample(t *testing.T) {
	s, err := readSample()
	if err != nil {
		t.Fatal(err)
	}
	if s.rss <= 0 || s.cpu <= 0 {
		t.Errorf("sample %+v: want a resident size and CPU time above 0", s)
	}
}
