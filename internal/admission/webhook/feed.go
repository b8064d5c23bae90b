package webhook

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kemudi/kemudi/internal/storage"
)

// Feed keeps p's configurations equal to those in store, from the store's
// watch cache, until ctx ends. synced is closed once p holds every
// configuration that existed when Feed started.
func Feed(ctx context.Context, store *storage.Store, p *Plugin, log *slog.Logger) (synced <-chan struct{}) {
	kinds := []feedKind{
		{
			prefix: storage.Prefix + "mutatingwebhookconfigurations/",
			set: func(o runtime.Object) {
				if c, ok := o.(*admissionv1.MutatingWebhookConfiguration); ok {
					p.SetMutating(c)
				}
			},
			del: func(o runtime.Object) {
				if c, ok := o.(*admissionv1.MutatingWebhookConfiguration); ok {
					p.DeleteMutating(c.Name)
				}
			},
			reset: p.resetMutating,
		},
		{
			prefix: storage.Prefix + "validatingwebhookconfigurations/",
			set: func(o runtime.Object) {
				if c, ok := o.(*admissionv1.ValidatingWebhookConfiguration); ok {
					p.SetValidating(c)
				}
			},
			del: func(o runtime.Object) {
				if c, ok := o.(*admissionv1.ValidatingWebhookConfiguration); ok {
					p.DeleteValidating(c.Name)
				}
			},
			reset: p.resetValidating,
		},
	}
	var wg sync.WaitGroup
	for _, k := range kinds {
		wg.Add(1)
		go k.follow(ctx, store, wg.Done, log)
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	return done
}

type feedKind struct {
	prefix string
	set    func(runtime.Object)
	del    func(runtime.Object)
	// reset replaces every configuration of the kind with those listed.
	reset func([]runtime.Object)
}

// follow watches one kind; a watch that ends resumes from the last
// revision seen, or lists again when that is too old.
func (k feedKind) follow(ctx context.Context, store *storage.Store, synced func(), log *slog.Logger) {
	var once sync.Once
	rv := ""
	for ctx.Err() == nil {
		w, err := store.Watch(ctx, k.prefix, storage.WatchOptions{ResourceVersion: rv, SendInitialEvents: rv == "", BookmarkEvery: 10 * time.Second})
		if err != nil {
			if storage.HasCode(err, storage.CodeExpired) {
				rv = ""
				continue
			}
			if ctx.Err() == nil {
				log.Warn("watch webhook configurations", "prefix", k.prefix, "err", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		var fresh []runtime.Object
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
				k.reset(fresh)
				fresh, listing = nil, false
				once.Do(synced)
			case e.Type == watch.Bookmark:
			case listing:
				fresh = append(fresh, e.Object)
			case e.Type == watch.Deleted:
				k.del(e.Object)
			default:
				k.set(e.Object)
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

func (p *Plugin) resetMutating(objs []runtime.Object) {
	p.mu.Lock()
	clear(p.mutating)
	p.mu.Unlock()
	for _, o := range objs {
		if c, ok := o.(*admissionv1.MutatingWebhookConfiguration); ok {
			p.SetMutating(c)
		}
	}
	p.mu.Lock()
	p.publish()
	p.mu.Unlock()
}

func (p *Plugin) resetValidating(objs []runtime.Object) {
	p.mu.Lock()
	clear(p.validating)
	p.mu.Unlock()
	for _, o := range objs {
		if c, ok := o.(*admissionv1.ValidatingWebhookConfiguration); ok {
			p.SetValidating(c)
		}
	}
	p.mu.Lock()
	p.publish()
	p.mu.Unlock()
}
