package kubelet

import (
	"reflect"
	"testing"
	"time"
)

func TestBytesToFree(t *testing.T) {
	p := ImageGCPolicy{HighThresholdPercent: 85, LowThresholdPercent: 80}
	const gi = 1 << 30
	tests := []struct {
		name                string
		capacity, available int64
		policy              ImageGCPolicy
		want                int64
		over                bool
	}{
		{name: "84% used: below high", capacity: 100 * gi, available: 16 * gi, policy: p},
		{name: "85% used: reaches high, free down to 80%", capacity: 100 * gi, available: 15 * gi, policy: p, want: 5 * gi, over: true},
		{name: "95% used", capacity: 100 * gi, available: 5 * gi, policy: p, want: 15 * gi, over: true},
		{name: "high 100 turns it off", capacity: 100 * gi, available: 0, policy: ImageGCPolicy{HighThresholdPercent: 100, LowThresholdPercent: 80}},
		{name: "no capacity known", policy: p},
		{name: "high 0: always, low 0: everything", capacity: 100 * gi, available: 90 * gi,
			policy: ImageGCPolicy{HighThresholdPercent: 0, LowThresholdPercent: 0}, want: 10 * gi, over: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, over := BytesToFree(tc.capacity, tc.available, tc.policy)
			if got != tc.want || over != tc.over {
				t.Errorf("got %d, %v; want %d, %v", got, over, tc.want, tc.over)
			}
		})
	}
}

func TestImagesToRemove(t *testing.T) {
	now := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	img := func(id string, size int64, first, last time.Duration) ImageRecord {
		r := ImageRecord{ID: id, Size: size, FirstDetected: ago(first)}
		if last >= 0 {
			r.LastUsed = ago(last)
		}
		return r
	}
	old := []ImageRecord{
		img("recent", 100, time.Hour, time.Minute),
		img("stale", 100, time.Hour, 30*time.Minute),
		img("never-used", 100, time.Hour, -1),
		img("young", 100, time.Minute, -1),
		{ID: "pinned", Size: 100, Pinned: true, FirstDetected: ago(time.Hour)},
		img("busy", 100, time.Hour, 0),
	}
	inUse := map[string]bool{"busy": true}
	tests := []struct {
		name   string
		want   int64
		minAge time.Duration
		ids    []string
		freed  int64
	}{
		{name: "least recently used first", want: 150, minAge: 2 * time.Minute, ids: []string{"never-used", "stale"}, freed: 200},
		{name: "enough after one", want: 100, minAge: 2 * time.Minute, ids: []string{"never-used"}, freed: 100},
		{name: "all eligible, short of the goal: never in use, pinned or young", want: 10000, minAge: 2 * time.Minute,
			ids: []string{"never-used", "stale", "recent"}, freed: 300},
		{name: "no age limit takes the young too", want: 10000, ids: []string{"never-used", "young", "stale", "recent"}, freed: 400},
		{name: "nothing wanted", want: 0, minAge: 2 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, freed := ImagesToRemove(old, inUse, tc.want, tc.minAge, now)
			var ids []string
			for _, r := range got {
				ids = append(ids, r.ID)
			}
			if !reflect.DeepEqual(ids, tc.ids) || freed != tc.freed {
				t.Errorf("got %v (%d bytes), want %v (%d)", ids, freed, tc.ids, tc.freed)
			}
		})
	}
}
