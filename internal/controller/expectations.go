package controller

import (
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// ExpectationsTTL is how long a controller waits for the creations and
// deletions it made to show up in its informers before it stops trusting
// them and syncs anyway (upstream's five minutes).
const ExpectationsTTL = 5 * time.Minute

// Expectations remember, per controller key, the creations and deletions
// a sync made that the informers have not shown yet, so that the next
// sync does not act again on a stale cache (a burst of events must not
// create twice). A key with no record, or whose record is met or older
// than ExpectationsTTL, is satisfied.
type Expectations struct {
	mu    sync.Mutex
	clock clock.PassiveClock
	m     map[string]*expectation
}

type expectation struct {
	add, del int
	// deleting holds the keys ("namespace/name") of objects whose
	// deletion is expected; nil when deletions are only counted.
	deleting map[string]bool
	at       time.Time
}

// NewExpectations returns empty expectations on a clock.
func NewExpectations(c clock.PassiveClock) *Expectations {
	if c == nil {
		c = clock.RealClock{}
	}
	return &Expectations{clock: c, m: map[string]*expectation{}}
}

// Satisfied says whether the key may sync on what its informers show.
func (e *Expectations) Satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.m[key]
	if !ok {
		return true
	}
	return (x.add <= 0 && x.del <= 0) || e.clock.Since(x.at) > ExpectationsTTL
}

// ExpectCreations records that a sync is about to create n objects.
func (e *Expectations) ExpectCreations(key string, n int) {
	e.set(key, &expectation{add: n})
}

// ExpectDeletions records that a sync is about to delete n objects.
func (e *Expectations) ExpectDeletions(key string, n int) {
	e.set(key, &expectation{del: n})
}

// ExpectDeletionsOf records that a sync is about to delete the objects
// with these keys; only their deletions count (a pod deleted by someone
// else does not).
func (e *Expectations) ExpectDeletionsOf(key string, objKeys []string) {
	x := &expectation{del: len(objKeys), deleting: map[string]bool{}}
	for _, k := range objKeys {
		x.deleting[k] = true
	}
	e.set(key, x)
}

func (e *Expectations) set(key string, x *expectation) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x.at = e.clock.Now()
	e.m[key] = x
}

// CreationObserved counts one expected creation as seen (or as failed:
// a create that errored will never be seen).
func (e *Expectations) CreationObserved(key string) { e.Lower(key, 1, 0) }

// DeletionObserved counts the deletion of the object objKey as seen. For
// ExpectDeletionsOf, only the listed objects count.
func (e *Expectations) DeletionObserved(key, objKey string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.m[key]
	if !ok {
		return
	}
	if x.deleting != nil {
		if !x.deleting[objKey] {
			return
		}
		delete(x.deleting, objKey)
	}
	x.del--
}

// Lower lowers the expected creations and deletions, e.g. for the
// creations a failed batch skipped.
func (e *Expectations) Lower(key string, add, del int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok {
		x.add -= add
		x.del -= del
	}
}

// Forget drops the key's record (its object was deleted).
func (e *Expectations) Forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.m, key)
}
