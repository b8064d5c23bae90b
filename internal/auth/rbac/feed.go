package rbac

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kemudi/kemudi/internal/storage"
)

// Feed keeps x up to date with the RBAC objects in store, from the store's
// own watch cache (no copy of etcd's traffic), until ctx ends. synced is
// closed once x holds every object that existed when Feed started.
func Feed(ctx context.Context, store *storage.Store, x *Index, log *slog.Logger) (synced <-chan struct{}) {
	kinds := []struct {
		resource string
		sample   any
	}{
		{"clusterroles", &rbacv1.ClusterRole{}},
		{"roles", &rbacv1.Role{}},
		{"clusterrolebindings", &rbacv1.ClusterRoleBinding{}},
		{"rolebindings", &rbacv1.RoleBinding{}},
	}
	var wg sync.WaitGroup
	for _, k := range kinds {
		wg.Add(1)
		go feedOne(ctx, store, x, storage.Prefix+k.resource+"/", k.sample, wg.Done, log)
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	return done
}

// feedOne follows one resource; a watch that ends resumes from the last
// revision seen, or lists again when that is too old.
func feedOne(ctx context.Context, store *storage.Store, x *Index, prefix string, sample any, synced func(), log *slog.Logger) {
	var once sync.Once
	rv := ""
	for ctx.Err() == nil {
		w, err := store.Watch(ctx, prefix, storage.WatchOptions{ResourceVersion: rv, SendInitialEvents: rv == "", BookmarkEvery: 10 * time.Second})
		if err != nil {
			if storage.HasCode(err, storage.CodeExpired) {
				rv = ""
				continue
			}
			if ctx.Err() == nil {
				log.Warn("watch RBAC objects", "prefix", prefix, "err", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		var fresh []any // the initial list, replacing what x holds
		listing := rv == ""
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
				x.Reset(sample, fresh)
				fresh, listing = nil, false
				once.Do(synced)
			case e.Type == watch.Bookmark:
			case listing:
				fresh = append(fresh, e.Object)
			case e.Type == watch.Deleted:
				x.Delete(e.Object)
			default:
				x.Set(e.Object)
			}
		}
		w.Stop()
		if listing {
			rv = ""
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
