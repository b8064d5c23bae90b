package apiserver

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/runtime"
)

// A response passes some objects through versioned twice (a write's
// answer is versioned by the write, then by writeResult; a list's rows
// by versionedAll, then row by row). Upstream defaults a custom object
// as it reads it from storage, in the version it is stored in, and never
// again once it is converted: a second pass here would default a
// converted object in the served version. servedOnce remembers, for one
// request, the objects versioned already, which a second pass returns
// as they are.
type servedOnce struct {
	mu   sync.Mutex
	objs map[runtime.Object]struct{}
}

type servedOnceKey struct{}

// withServedOnce gives a request's context its memory of versioned
// objects. Watches go without: they version each event once, and would
// only pile up what they sent.
func withServedOnce(ctx context.Context) context.Context {
	return context.WithValue(ctx, servedOnceKey{}, &servedOnce{objs: map[runtime.Object]struct{}{}})
}

// servedOnceFrom is the request's memory, nil if it has none (which
// remembers nothing).
func servedOnceFrom(ctx context.Context) *servedOnce {
	o, _ := ctx.Value(servedOnceKey{}).(*servedOnce)
	return o
}

func (o *servedOnce) has(obj runtime.Object) bool {
	if o == nil {
		return false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	_, ok := o.objs[obj]
	return ok
}

func (o *servedOnce) add(obj runtime.Object) {
	if o == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.objs[obj] = struct{}{}
}
