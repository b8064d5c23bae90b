package apibench

import (
	"slices"
	"time"
)

// Latencies summarises a set of durations.
type Latencies struct {
	N                       int
	P50, P90, P99, Max, Avg time.Duration
}

// Summarize computes nearest-rank percentiles; it sorts d.
func Summarize(d []time.Duration) Latencies {
	if len(d) == 0 {
		return Latencies{}
	}
	slices.Sort(d)
	var sum time.Duration
	for _, v := range d {
		sum += v
	}
	return Latencies{
		N:   len(d),
		P50: percentile(d, 50),
		P90: percentile(d, 90),
		P99: percentile(d, 99),
		Max: d[len(d)-1],
		Avg: sum / time.Duration(len(d)),
	}
}

// percentile is the nearest-rank percentile of sorted d: the smallest
// value with at least p% of the values at or below it.
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	return sorted[max(rank, 1)-1]
}

// ms is a duration in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
