package node

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kemudi/kemudi/internal/storage"
)

// Feed keeps g up to date with the pods in store, from its watch cache,
// until ctx ends. synced is closed once g holds the pods that existed
// when Feed started.
func Feed(ctx context.Context, store *storage.Store, g *Graph, log *slog.Logger) (synced <-chan struct{}) {
	done := make(chan struct{})
	var once sync.Once
	go func() {
		rv := ""
		for ctx.Err() == nil {
			w, err := store.Watch(ctx, storage.Prefix+"pods/", storage.WatchOptions{ResourceVersion: rv, SendInitialEvents: rv == "", BookmarkEvery: 10 * time.Second})
			if err != nil {
				if storage.HasCode(err, storage.CodeExpired) {
					rv = ""
					continue
				}
				if ctx.Err() == nil {
					log.Warn("watch pods for the node authorizer", "err", err)
					sleep(ctx, time.Second)
				}
				continue
			}
			var fresh []*corev1.Pod
			listing := rv == ""
			for {
				e, err := w.Next(ctx)
				if err != nil {
					break
				}
				if e.Rev > 0 {
					rv = strconv.FormatInt(e.Rev, 10)
				}
				p, _ := e.Object.(*corev1.Pod)
				switch {
				case e.Type == watch.Bookmark && e.InitialEventsEnd:
					g.Reset(fresh)
					fresh, listing = nil, false
					once.Do(func() { close(done) })
				case e.Type == watch.Bookmark || p == nil:
				case listing:
					fresh = append(fresh, p)
				case e.Type == watch.Deleted:
					g.DeletePod(p)
				default:
					g.SetPod(p)
				}
			}
			w.Stop()
			if listing {
				rv = ""
			}
		}
	}()
	return done
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
