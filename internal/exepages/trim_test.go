package exepages

import (
	"testing"
	"time"
)

// The trimmer releases once after a burst that left the process grown,
// when it has gone quiet, and not again until it grows anew.
func TestTrimmerReleasesOnceQuietAfterGrowth(t *testing.T) {
	const mib = 1 << 20
	ms := time.Millisecond
	steps := []struct {
		name    string
		cpu     time.Duration // since the previous sample
		rss     int64
		release bool
	}{
		{"start: settles", 0, 20 * mib, false},
		{"quiet, not grown", ms, 21 * mib, false},
		{"busy burst grows it", 2 * time.Second, 60 * mib, false},
		{"still busy", 500 * ms, 62 * mib, false},
		{"quiet after the burst", 10 * ms, 62 * mib, true},
		{"after the release: settles", ms, 24 * mib, false},
		{"quiet, working set back", 2 * ms, 26 * mib, false},
		{"light calls, a little more", 40 * ms, 27 * mib, false},
		{"quiet and grown again", 30 * ms, 29 * mib, true},
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
