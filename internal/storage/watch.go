package storage

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/watch"
)

// watchBuffer is how many events a watcher may fall behind before it is
// ended; its client resumes from the last revision it saw.
const watchBuffer = 4096

// WatchOptions say where a watch starts and what it sees.
type WatchOptions struct {
	// ResourceVersion: "" starts at the newest state (after a quorum read),
	// "0" at whatever the cache has; both begin with an Added event per
	// existing object. Any other revision resumes right after it.
	ResourceVersion string
	// SendInitialEvents asks for the existing objects first, then a bookmark
	// marking their end (the watch-list protocol).
	SendInitialEvents bool
	Predicate         Predicate
	// BookmarkEvery, when set, makes Next return a bookmark after that long
	// without events, so that the client can resume from a recent revision.
	BookmarkEvery time.Duration
}

// Watch is a stream of events under one key prefix.
type Watch struct {
	rc     *resourceCache
	cache  *cache
	prefix string
	pred   Predicate

	initial []*Event
	ch      chan *Event

	bookmarkEvery time.Duration
	bookmarkTimer *time.Timer

	// For Freshness: how many events the watch had at its start and has
	// queued since (written under rc.mu, read by anyone), and how many
	// Next has handed out (read and written by the reader alone).
	initialLen int64
	queued     atomic.Int64
	handed     int64

	once sync.Once
	done chan struct{}
	err  error
}

// Watch starts a watch on the keys under prefix, which must end in "/".
func (s *Store) Watch(ctx context.Context, prefix string, opts WatchOptions) (*Watch, error) {
	rev, err := ParseRV(opts.ResourceVersion)
	if err != nil {
		return nil, err
	}
	if opts.ResourceVersion == "" {
		if rev, err = s.cache.consistentRev(ctx); err != nil {
			return nil, err
		}
	}
	if err := s.cache.waitForRev(ctx, rev); err != nil {
		return nil, err
	}
	rc := s.cache.resource(resourceOf(prefix))
	w := &Watch{rc: rc, cache: s.cache, prefix: prefix, pred: opts.Predicate, ch: make(chan *Event, watchBuffer), done: make(chan struct{}), bookmarkEvery: opts.BookmarkEvery}

	rc.mu.Lock()
	defer rc.mu.Unlock()
	switch {
	case opts.SendInitialEvents || opts.ResourceVersion == "" || opts.ResourceVersion == "0":
		rc.items.AscendGreaterOrEqual(&entry{key: prefix}, func(e *entry) bool {
			if !strings.HasPrefix(e.key, prefix) {
				return false
			}
			if w.pred.matches(e.obj) {
				w.initial = append(w.initial, &Event{Type: watch.Added, Object: e.obj, Key: e.key, Rev: ObjectRV(e.obj)})
			}
			return true
		})
		if opts.SendInitialEvents {
			w.initial = append(w.initial, &Event{Type: watch.Bookmark, Rev: s.cache.snapshotRev(rc), InitialEventsEnd: true})
		}
	default:
		if rev < rc.historyFrom {
			return nil, errExpired(prefix, fmt.Sprintf("too old resource version: %d (%d)", rev, rc.historyFrom))
		}
		for _, e := range rc.history {
			// Decode only what this watch may get: the history holds the
			// whole resource, and this runs with rc.mu held.
			if e.Rev > rev && strings.HasPrefix(e.Key, prefix) {
				full, err := s.cache.materialize(e)
				if err != nil {
					return nil, err
				}
				if out := w.filter(full); out != nil {
					w.initial = append(w.initial, out)
				}
			}
		}
	}
	w.initialLen = int64(len(w.initial))
	rc.watchers[w] = struct{}{}
	return w, nil
}

// snapshotRev is the revision at which rc's current contents are etcd's
// state. Called with rc.mu held.
func (c *cache) snapshotRev(rc *resourceCache) int64 {
	rev := c.revision()
	if n := len(rc.history); n > 0 && rc.history[n-1].Rev > rev {
		rev = rc.history[n-1].Rev
	}
	return rev
}

// filter turns a cache event into what this watcher sees, or nil: an
// object that stops matching the selector is Deleted for this watcher, one
// that starts matching is Added.
func (w *Watch) filter(e *Event) *Event {
	if !strings.HasPrefix(e.Key, w.prefix) {
		return nil
	}
	if w.pred == nil {
		return e
	}
	switch e.Type {
	case watch.Added:
		if w.pred.matches(e.Object) {
			return e
		}
	case watch.Deleted:
		if w.pred.matches(e.Prev) {
			return e
		}
	case watch.Modified:
		now, before := w.pred.matches(e.Object), w.pred.matches(e.Prev)
		switch {
		case now && before:
			return e
		case now:
			return &Event{Type: watch.Added, Object: e.Object, Key: e.Key, Rev: e.Rev}
		case before:
			last := e.Prev.DeepCopyObject()
			if setRV(last, e.Rev) != nil {
				return nil
			}
			return &Event{Type: watch.Deleted, Object: last, Prev: e.Prev, Key: e.Key, Rev: e.Rev}
		}
	}
	return nil
}

// send queues e for the watcher, ending the watch when it has fallen too
// far behind. Called with rc.mu held.
func (w *Watch) send(e *Event) {
	out := w.filter(e)
	if out == nil {
		return
	}
	w.queued.Add(1) // before the event can be taken, so never behind handed
	select {
	case w.ch <- out:
	default:
		delete(w.rc.watchers, w)
		w.end(fmt.Errorf("watch fell %d events behind", watchBuffer))
	}
}

func (w *Watch) end(err error) {
	w.once.Do(func() {
		w.err = err
		close(w.done)
	})
}

// Next returns the next event, or a bookmark when BookmarkEvery passed
// without one. It returns an error when the watch ended: ctx's error, or
// why the store ended it (the client should resume from the last revision
// it saw).
func (w *Watch) Next(ctx context.Context) (*Event, error) {
	if len(w.initial) > 0 {
		e := w.initial[0]
		w.initial[0] = nil
		w.initial = w.initial[1:]
		w.handed++
		return e, nil
	}
	select {
	case e := <-w.ch:
		w.handed++
		return e, nil
	default:
	}
	var tick <-chan time.Time
	if w.bookmarkEvery > 0 {
		if w.bookmarkTimer == nil {
			w.bookmarkTimer = time.NewTimer(w.bookmarkEvery)
		}
		tick = w.bookmarkTimer.C
	}
	for {
		select {
		case e := <-w.ch:
			w.handed++
			return e, nil
		case <-tick:
			w.bookmarkTimer.Reset(w.bookmarkEvery)
			if rev, ok := w.Bookmark(); ok {
				return &Event{Type: watch.Bookmark, Rev: rev}, nil
			}
		case <-w.done:
			select {
			case e := <-w.ch:
				w.handed++
				return e, nil
			default:
			}
			if w.err == nil {
				return nil, context.Canceled
			}
			return nil, w.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Pending reports whether events are queued, so that a caller can batch
// its writes.
func (w *Watch) Pending() bool { return len(w.initial) > 0 || len(w.ch) > 0 }

// Bookmark returns a revision the watcher may report as reached: every
// event up to it has been returned by Next. ok is false while events are
// still queued.
func (w *Watch) Bookmark() (rev int64, ok bool) {
	// Read the revision before looking at the queue: events are queued
	// before the revision advances past them.
	rev = w.cache.revision()
	if len(w.initial) > 0 || len(w.ch) > 0 {
		return 0, false
	}
	return rev, true
}

// Stop ends the watch and releases it.
func (w *Watch) Stop() {
	if w.bookmarkTimer != nil {
		w.bookmarkTimer.Stop()
	}
	w.rc.mu.Lock()
	delete(w.rc.watchers, w)
	w.rc.mu.Unlock()
	w.end(nil)
}
