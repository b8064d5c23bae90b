package localpath

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// backoff spaces a claim's provisioning attempts after failures, so that
// a claim the scheduler keeps placing on a node too small for it does
// not loop hot: 1 s, 2 s, 4 s ... up to the maximum, per claim (by key
// and UID: a claim made again under the same name starts afresh).
type backoff struct {
	start, max time.Duration
	mu         sync.Mutex
	claims     map[string]attempts
}

type attempts struct {
	uid      types.UID
	failures int
	until    time.Time
}

func newBackoff(start, max time.Duration) *backoff {
	return &backoff{start: start, max: max, claims: map[string]attempts{}}
}

// wait is how long the claim must still wait at now (0: go).
func (b *backoff) wait(key string, uid types.UID, now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, ok := b.claims[key]
	if !ok || a.uid != uid || !now.Before(a.until) {
		return 0
	}
	return a.until.Sub(now)
}

// failed records a failure at now and returns the wait before the next
// attempt.
func (b *backoff) failed(key string, uid types.UID, now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	a := b.claims[key]
	if a.uid != uid {
		a = attempts{uid: uid}
	}
	d := b.start
	for i := 0; i < a.failures && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	a.failures++
	a.until = now.Add(d)
	b.claims[key] = a
	return d
}

// forget drops the claim's record (provisioned, or gone).
func (b *backoff) forget(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.claims, key)
}
