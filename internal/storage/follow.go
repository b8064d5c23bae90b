package storage

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// Sink receives the objects under a prefix as they change (an in-process
// informer's handlers: the RBAC index, the node graph, the admission
// plugins' configurations).
type Sink struct {
	Set    func(runtime.Object)
	Delete func(runtime.Object)
	// Reset replaces everything the sink holds with the objects listed:
	// at the start, and again whenever the watch had to list anew.
	Reset func([]runtime.Object)
	// Fresh, when set, is kept told how far the sink has got, for readers
	// that must not answer from a stale view.
	Fresh *Freshness
}

// Follow feeds sink the objects under prefix from the store's watch cache
// (no copy of etcd's traffic) until ctx ends. A watch that ends resumes
// from the last revision seen, or lists again when that is too old.
// synced is closed once the first list has reached Reset.
func (s *Store) Follow(ctx context.Context, prefix string, sink Sink, log *slog.Logger) (synced <-chan struct{}) {
	done := make(chan struct{})
	go s.follow(ctx, prefix, sink, func() { close(done) }, log)
	return done
}

func (s *Store) follow(ctx context.Context, prefix string, sink Sink, synced func(), log *slog.Logger) {
	var once sync.Once
	rv := ""
	for ctx.Err() == nil {
		w, err := s.Watch(ctx, prefix, WatchOptions{ResourceVersion: rv, SendInitialEvents: rv == "", BookmarkEvery: 10 * time.Second})
		if err != nil {
			if HasCode(err, CodeExpired) {
				rv = ""
				continue
			}
			if ctx.Err() == nil {
				log.Warn("watch the store", "prefix", prefix, "err", err)
				sleepCtx(ctx, time.Second)
			}
			continue
		}
		var fresh []runtime.Object // the list under way, replacing what sink holds
		listing := rv == ""
		if sink.Fresh != nil {
			sink.Fresh.watching(w)
		}
		for {
			e, err := w.Next(ctx)
			if err != nil {
				break
			}
			if e.Rev > 0 {
				rv = strconv.FormatInt(e.Rev, 10)
			}
			switch {
			case e.Type == watch.Bookmark && e.InitialEventsEnd:
				sink.Reset(fresh)
				fresh, listing = nil, false
				once.Do(synced)
			case e.Type == watch.Bookmark:
			case listing:
				fresh = append(fresh, e.Object)
			case e.Type == watch.Deleted:
				sink.Delete(e.Object)
			default:
				sink.Set(e.Object)
			}
			if sink.Fresh != nil && !listing {
				sink.Fresh.advance(w, w.handed)
			}
		}
		if sink.Fresh != nil {
			sink.Fresh.watching(nil)
		}
		w.Stop()
		if listing {
			rv = ""
		}
	}
}

// AllSynced is closed once every one of chs is.
func AllSynced(chs ...<-chan struct{}) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		for _, c := range chs {
			<-c
		}
		close(done)
	}()
	return done
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
