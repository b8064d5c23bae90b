package image

import (
	"context"
	"sync"
)

// flight runs one function per key at a time; callers that arrive while it
// runs wait for its result instead of running it again (so concurrent pulls
// of one image, or of two images sharing a layer, download it once).
type flight[T any] struct {
	mu    sync.Mutex
	calls map[string]*call[T]
}

type call[T any] struct {
	done    chan struct{}
	val     T
	err     error
	waiters int                // callers still waiting (doCtx)
	cancel  context.CancelFunc // of the run's context (doCtx)
}

func (f *flight[T]) do(key string, fn func() (T, error)) (T, error) {
	return f.doCtx(context.Background(), key, func(context.Context) (T, error) { return fn() })
}

// doCtx is do for work that takes a context: the work runs on a context of
// its own, ended when every caller waiting for it has given up, so one
// caller's cancellation does not fail the others.
func (f *flight[T]) doCtx(ctx context.Context, key string, fn func(context.Context) (T, error)) (T, error) {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[string]*call[T]{}
	}
	c, ok := f.calls[key]
	if !ok {
		runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		c = &call[T]{done: make(chan struct{}), cancel: cancel}
		f.calls[key] = c
		go func() {
			v, err := fn(runCtx)
			f.mu.Lock()
			c.val, c.err = v, err
			if f.calls[key] == c {
				delete(f.calls, key)
			}
			f.mu.Unlock()
			cancel()
			close(c.done)
		}()
	}
	c.waiters++
	f.mu.Unlock()
	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
		f.mu.Lock()
		c.waiters--
		if c.waiters == 0 {
			c.cancel()
			// Later callers start afresh instead of joining a cancelled run.
			if f.calls[key] == c {
				delete(f.calls, key)
			}
		}
		f.mu.Unlock()
		var zero T
		return zero, ctx.Err()
	}
}
