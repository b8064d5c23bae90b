package storage

import (
	"context"
	"sync"
)

// Freshness tells whether a sink that Follow feeds holds every change up
// to a revision. A reader refused for what the sink lacks (the node
// authorizer, asked for a pod's token the moment the kubelet sees the pod
// bound) waits on it instead of answering from a view a moment old.
type Freshness struct {
	mu      sync.Mutex
	w       *Watch // the watch feeding the sink; nil between watches
	applied int64  // how many of w's events the sink has been given
	changed chan struct{}
}

// watching records that w now feeds the sink, none of its events given.
func (f *Freshness) watching(w *Watch) {
	f.mu.Lock()
	f.w, f.applied = w, 0
	f.mu.Unlock()
}

// advance records that the sink has been given the first n of w's events.
func (f *Freshness) advance(w *Watch, n int64) {
	f.mu.Lock()
	if f.w == w {
		f.applied = n
	}
	if f.changed != nil {
		close(f.changed)
		f.changed = nil
	}
	f.mu.Unlock()
}

// caughtUp reports whether the sink holds the state at rev, and otherwise
// returns a channel closed at the sink's next change.
func (f *Freshness) caughtUp(rev int64) (bool, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if w := f.w; w != nil {
		// The revision first: events are queued before it moves past them.
		reached := w.cache.revision() >= rev
		if reached && w.initialLen+w.queued.Load() == f.applied {
			return true, nil
		}
	}
	if f.changed == nil {
		f.changed = make(chan struct{})
	}
	return false, f.changed
}

// Wait blocks until the sink holds the state at rev (Store.Revision, read
// when the question arose), and reports whether it does; it gives up
// when ctx ends.
func (f *Freshness) Wait(ctx context.Context, rev int64) bool {
	for {
		ok, changed := f.caughtUp(rev)
		if ok {
			return true
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return false
		}
	}
}
