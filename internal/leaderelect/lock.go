package leaderelect

import (
	"context"
	"sync"
	"time"

	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// watchedLock is the Lease lock with a watch on the term: client-go's
// elector cancels the leader's work only after it gave up renewing and
// tried to release, which can be seconds after another process took
// the lease. watchedLock stops work as soon as a read shows another
// holder, or when RenewDeadline passed since the last renewal (before
// the lease can expire for others).
type watchedLock struct {
	resourcelock.Interface
	renewDeadline time.Duration

	mu       sync.Mutex
	stopWork func() // set while leading
	timer    *time.Timer
	// acquired says a write made this process the holder since the last
	// reset: client-go then starts the term's work.
	acquired bool
	// holder is the holder the last read showed.
	holder string
}

// reset starts a new campaign.
func (l *watchedLock) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acquired = false
}

// won says whether the campaign since reset made this process the holder.
func (l *watchedLock) won() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acquired
}

// leading arms the watch with the current term's stop (nil: not leading).
func (l *watchedLock) leading(stop func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	l.stopWork = stop
	if stop != nil {
		// The term starts right after a successful acquire.
		l.timer = time.AfterFunc(l.renewDeadline, stop)
	}
}

func (l *watchedLock) Get(ctx context.Context) (*resourcelock.LeaderElectionRecord, []byte, error) {
	rec, raw, err := l.Interface.Get(ctx)
	if err == nil {
		l.mu.Lock()
		l.holder = rec.HolderIdentity
		if rec.HolderIdentity != l.Identity() && l.stopWork != nil {
			l.stopWork()
		}
		l.mu.Unlock()
	}
	return rec, raw, err
}

func (l *watchedLock) Update(ctx context.Context, rec resourcelock.LeaderElectionRecord) error {
	if rec.HolderIdentity == "" {
		// A release. client-go's checks whether it still leads against
		// the record it saw before the read it just made, so a leader
		// that stopped without noticing the loss would release the new
		// leader's lease: only a lease the read showed as ours is
		// released.
		l.mu.Lock()
		ours := l.holder == l.Identity()
		l.mu.Unlock()
		if !ours {
			return nil
		}
	}
	err := l.Interface.Update(ctx, rec)
	if err == nil && rec.HolderIdentity == l.Identity() {
		l.renewed()
	}
	return err
}

func (l *watchedLock) Create(ctx context.Context, rec resourcelock.LeaderElectionRecord) error {
	err := l.Interface.Create(ctx, rec)
	if err == nil && rec.HolderIdentity == l.Identity() {
		l.renewed()
	}
	return err
}

// renewed restarts the renew deadline of a running term.
func (l *watchedLock) renewed() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acquired = true
	if l.timer != nil {
		l.timer.Reset(l.renewDeadline)
	}
}
