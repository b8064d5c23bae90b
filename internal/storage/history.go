package storage

import (
	"time"

	"k8s.io/apimachinery/pkg/watch"
)

// compactAfter is how long a history event keeps its decoded objects.
// Live watchers get events within milliseconds; only a watch that resumes
// from an older revision reads the history after that, and it can afford
// to decode. A decoded pod costs several times its stored bytes, and most
// history events hold versions nothing else references any more.
const compactAfter = 2 * time.Second

// compactHistory replaces history events older than compactAfter by
// copies that keep only the stored bytes. It replaces, never changes, an
// event: watchers may still hold the original. Called with rc.mu held.
func (rc *resourceCache) compactHistory(now time.Time) {
	for rc.compacted < len(rc.history) && now.Sub(rc.historyTime[rc.compacted]) > compactAfter {
		e := rc.history[rc.compacted]
		if e.Object != nil || e.Prev != nil {
			rc.history[rc.compacted] = e.bytesOnly()
		}
		rc.compacted++
	}
	rc.scheduleCompaction()
}

// scheduleCompaction makes sure the events not yet compacted are, once
// old enough, even if no later event comes: after a burst (100 CRDs
// installed at once) a quiet resource would otherwise keep every decoded
// version of the burst, and their watch encodings, until its next change.
// Called with rc.mu held.
func (rc *resourceCache) scheduleCompaction() {
	if rc.compactTimer != nil || rc.compacted == len(rc.history) {
		return
	}
	due := time.Until(rc.historyTime[rc.compacted].Add(compactAfter)) + time.Millisecond
	rc.compactTimer = time.AfterFunc(due, func() {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.compactTimer = nil
		rc.compactHistory(time.Now())
	})
}

// bytesOnly is a copy of e without its decoded objects.
func (e *Event) bytesOnly() *Event {
	return &Event{Type: e.Type, Key: e.Key, Rev: e.Rev, raw: e.raw, prevRaw: e.prevRaw, prevRev: e.prevRev}
}

// materialize returns e with its objects decoded, for a compacted event.
func (c *cache) materialize(e *Event) (*Event, error) {
	if e.Object != nil || (e.raw == nil && e.prevRaw == nil) {
		return e, nil
	}
	out := e.bytesOnly()
	var err error
	if e.prevRaw != nil {
		if out.Prev, err = c.codec.decode(e.prevRaw, e.prevRev); err != nil {
			return nil, err
		}
	}
	switch e.Type {
	case watch.Deleted:
		// The last state, with the deletion's revision.
		if out.Object, err = c.codec.decode(e.prevRaw, e.Rev); err != nil {
			return nil, err
		}
	default:
		if out.Object, err = c.codec.decode(e.raw, e.Rev); err != nil {
			return nil, err
		}
	}
	return out, nil
}
