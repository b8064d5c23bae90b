package storage

import (
	"sync"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// Event is one change the cache saw, or a bookmark.
type Event struct {
	Type watch.EventType
	// Object is the new state; for Deleted, the last state with the
	// deletion's revision as resourceVersion. Nil for bookmarks. It is
	// shared: readers must not change it.
	Object runtime.Object
	// Prev is the state before a Modified or Deleted event.
	Prev runtime.Object
	Key  string
	Rev  int64
	// InitialEventsEnd marks the bookmark that ends the initial events of a
	// watch that asked for them (sendInitialEvents=true).
	InitialEventsEnd bool

	// The stored bytes of Object and Prev, which the history keeps once
	// it drops the decoded objects.
	raw, prevRaw []byte
	prevRev      int64

	// memo holds what readers computed from the event once for all of
	// them (its encodings, one per format).
	memo sync.Map
}

// Memo returns what compute returns for key, computing it once per event:
// every watcher of a resource gets the same event, and encoding its object
// once per format instead of once per watcher saves most of the work of
// serving watches.
func (e *Event) Memo(key any, compute func() ([]byte, error)) ([]byte, error) {
	if v, ok := e.memo.Load(key); ok {
		return v.([]byte), nil
	}
	data, err := compute()
	if err != nil {
		return nil, err
	}
	e.memo.Store(key, data)
	return data, nil
}

// Predicate selects the objects a list or watch returns (label and field
// selectors). A nil Predicate matches everything.
type Predicate func(obj runtime.Object) bool

func (p Predicate) matches(obj runtime.Object) bool {
	return p == nil || obj != nil && p(obj)
}
