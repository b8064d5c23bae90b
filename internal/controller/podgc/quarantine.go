package podgc

import (
	"sort"
	"time"
)

// quarantine remembers since when each node that pods are bound to has
// been missing from the informer: a node is checked with a live GET only
// after it has been missing for wait, so that a node the informer has
// not caught up with does not cost its pods.
type quarantine struct {
	wait  time.Duration
	since map[string]time.Time
}

func newQuarantine(wait time.Duration) *quarantine {
	return &quarantine{wait: wait, since: map[string]time.Time{}}
}

// due records the nodes missing now and returns, sorted, those missing
// for at least wait. They are forgotten: a node still missing at the
// next pass waits again, as with upstream's delaying queue. A node that
// came back is forgotten at once.
func (q *quarantine) due(missing map[string]bool, now time.Time) []string {
	for name := range q.since {
		if !missing[name] {
			delete(q.since, name)
		}
	}
	var out []string
	for name := range missing {
		since, ok := q.since[name]
		if !ok {
			q.since[name] = now
			since = now
		}
		if now.Sub(since) >= q.wait {
			out = append(out, name)
			delete(q.since, name)
		}
	}
	sort.Strings(out)
	return out
}
