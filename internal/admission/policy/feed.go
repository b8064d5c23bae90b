package policy

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kemudi/kemudi/internal/storage"
)

// Feed keeps p's policies and bindings current from the store's own
// watch cache until ctx ends. synced is closed once p holds every policy
// and binding that existed when Feed started.
func Feed(ctx context.Context, store *storage.Store, p *Plugin, log *slog.Logger) (synced <-chan struct{}) {
	var wg sync.WaitGroup
	wg.Add(2)
	go follow(ctx, store, storage.Prefix+"validatingadmissionpolicies/", sink{
		set: func(o runtime.Object) {
			if pol, ok := o.(*admissionregistrationv1.ValidatingAdmissionPolicy); ok {
				p.SetPolicy(pol)
			}
		},
		del: func(o runtime.Object) {
			if pol, ok := o.(*admissionregistrationv1.ValidatingAdmissionPolicy); ok {
				p.DeletePolicy(pol.Name)
			}
		},
		reset: func(objs []runtime.Object) {
			var pols []*admissionregistrationv1.ValidatingAdmissionPolicy
			for _, o := range objs {
				if pol, ok := o.(*admissionregistrationv1.ValidatingAdmissionPolicy); ok {
					pols = append(pols, pol)
				}
			}
			p.ResetPolicies(pols)
		},
	}, wg.Done, log)
	go follow(ctx, store, storage.Prefix+"validatingadmissionpolicybindings/", sink{
		set: func(o runtime.Object) {
			if b, ok := o.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding); ok {
				p.SetBinding(b)
			}
		},
		del: func(o runtime.Object) {
			if b, ok := o.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding); ok {
				p.DeleteBinding(b.Name)
			}
		},
		reset: func(objs []runtime.Object) {
			var bs []*admissionregistrationv1.ValidatingAdmissionPolicyBinding
			for _, o := range objs {
				if b, ok := o.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding); ok {
					bs = append(bs, b)
				}
			}
			p.ResetBindings(bs)
		},
	}, wg.Done, log)
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	return done
}

// sink receives one resource's objects.
type sink struct {
	set   func(runtime.Object)
	del   func(runtime.Object)
	reset func([]runtime.Object)
}

// follow watches one prefix; a watch that ends resumes from the last
// revision seen, or lists again when that is too old.
func follow(ctx context.Context, store *storage.Store, prefix string, s sink, synced func(), log *slog.Logger) {
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
				log.Warn("watch admission policies", "prefix", prefix, "err", err)
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
				s.reset(fresh)
				fresh, listing = nil, false
				once.Do(synced)
			case e.Type == watch.Bookmark:
			case listing:
				fresh = append(fresh, e.Object)
			case e.Type == watch.Deleted:
				s.del(e.Object)
			default:
				s.set(e.Object)
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
