package certrotation

import (
	"testing"
	"time"
)

// TestDeadline: a certificate is renewed after 70% of its lifetime,
// jittered up to 84%, counted from when it was obtained when it was
// backdated past that.
func TestDeadline(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var unknown time.Time
	for _, tc := range []struct {
		name     string
		life     time.Duration
		obtained time.Time
		r        float64
		want     time.Duration
	}{
		{"at 70%", 100 * time.Second, unknown, 0, 70 * time.Second},
		{"jittered", 100 * time.Second, unknown, 0.5, 77 * time.Second},
		{"at most 84%", 100 * time.Second, unknown, 0.999999, 84 * time.Second},
		{"a year", 365 * 24 * time.Hour, unknown, 0, 6132 * time.Hour},
		{"obtained after its deadline counts from then", 100 * time.Second, t0.Add(80 * time.Second), 0, 94 * time.Second},
		{"obtained before its deadline changes nothing", 100 * time.Second, t0.Add(10 * time.Second), 0, 70 * time.Second},
		// 5 minutes backdated, 20 s from now: renewed 14 s after it came.
		{"short-lived, backdated", 5*time.Minute + 20*time.Second, t0.Add(5 * time.Minute), 0, 5*time.Minute + 14*time.Second},
	} {
		got := Deadline(t0, t0.Add(tc.life), tc.obtained, tc.r).Sub(t0)
		if d := got - tc.want; d < -time.Millisecond || d > time.Millisecond {
			t.Errorf("%s: renew after %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestNextRetry: failed renewals back off from 2 s to a minute, and to a
// tenth of what the certificate has left when that is shorter.
func TestNextRetry(t *testing.T) {
	for _, tc := range []struct {
		last, left, want time.Duration
	}{
		{0, time.Hour, 2 * time.Second},
		{2 * time.Second, time.Hour, 4 * time.Second},
		{40 * time.Second, time.Hour, time.Minute},
		{time.Minute, time.Hour, time.Minute},
		{10 * time.Second, 30 * time.Second, 3 * time.Second},
		{0, 5 * time.Second, time.Second},
		// Expired: keep trying, as often as the cap allows.
		{time.Minute, -time.Hour, time.Minute},
	} {
		if got := NextRetry(tc.last, tc.left); got != tc.want {
			t.Errorf("last %s left %s: %s, want %s", tc.last, tc.left, got, tc.want)
		}
	}
}
