package dns

import (
	"sync"

	toolscache "k8s.io/client-go/tools/cache"
)

// compactStore is what a reflector fills: the compact form (compact.go)
// of every object of one resource, by key. It holds nothing else (no
// typed objects, no indexes), and calls changed after every change.
type compactStore[T any] struct {
	key     func(T) string
	changed func()

	mu     sync.Mutex
	items  map[string]T
	synced chan struct{}
	once   sync.Once
}

func newCompactStore[T any](key func(T) string, changed func()) *compactStore[T] {
	return &compactStore[T]{key: key, changed: changed, items: map[string]T{}, synced: make(chan struct{})}
}

// Transformer makes the reflector compact what its initial stream holds
// too (toolscache.TransformingStore), not only what reaches the store.
func (s *compactStore[T]) Transformer() toolscache.TransformFunc { return compact }

func (s *compactStore[T]) Add(obj any) error    { return s.put(obj) }
func (s *compactStore[T]) Update(obj any) error { return s.put(obj) }
func (s *compactStore[T]) Resync() error        { return nil }

func (s *compactStore[T]) put(obj any) error {
	item, ok := asCompact[T](obj)
	if !ok {
		return nil
	}
	s.mu.Lock()
	s.items[s.key(item)] = item
	s.mu.Unlock()
	s.changed()
	return nil
}

func (s *compactStore[T]) Delete(obj any) error {
	item, ok := asCompact[T](obj)
	if !ok {
		return nil
	}
	s.mu.Lock()
	delete(s.items, s.key(item))
	s.mu.Unlock()
	s.changed()
	return nil
}

// Replace takes the reflector's whole list (at start, and after a
// relist); the first one marks the store synced.
func (s *compactStore[T]) Replace(list []any, _ string) error {
	items := make(map[string]T, len(list))
	for _, obj := range list {
		if item, ok := asCompact[T](obj); ok {
			items[s.key(item)] = item
		}
	}
	s.mu.Lock()
	s.items = items
	s.mu.Unlock()
	s.once.Do(func() { close(s.synced) })
	s.changed()
	return nil
}

// view calls f with the items, which f must not modify or keep (the
// items themselves are never modified, only replaced: keeping those is
// fine).
func (s *compactStore[T]) view(f func(map[string]T)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s.items)
}

// asCompact is obj in compact form, if it is of the store's type.
func asCompact[T any](obj any) (T, bool) {
	c, _ := compact(obj)
	item, ok := c.(T)
	return item, ok
}
