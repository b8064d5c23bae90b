package leaderelect_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1 "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/util/retry"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/leaderelect"
)

const (
	leaseDuration = 3 * time.Second
	renewDeadline = 2 * time.Second
	retryPeriod   = 250 * time.Millisecond
)

// candidate is one process campaigning for the lease; its work counts
// terms and records when each ended.
type candidate struct {
	id       string
	cancel   context.CancelFunc
	done     chan error
	terms    atomic.Int32
	working  atomic.Bool
	mu       sync.Mutex
	stopped  []time.Time
	failWith error
}

func campaign(t *testing.T, leases coordinationv1.LeasesGetter, id string, failWith error) *candidate {
	t.Helper()
	c := &candidate{id: id, done: make(chan error, 1), failWith: failWith}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go func() {
		c.done <- leaderelect.Run(ctx, leaderelect.Config{
			Client: leases, Name: "test-lease", Identity: id,
			LeaseDuration: leaseDuration, RenewDeadline: renewDeadline, RetryPeriod: retryPeriod,
			Log: slog.New(slog.DiscardHandler),
		}, func(ctx context.Context) error {
			c.terms.Add(1)
			c.working.Store(true)
			if c.failWith != nil {
				return c.failWith
			}
			<-ctx.Done()
			c.working.Store(false)
			c.mu.Lock()
			c.stopped = append(c.stopped, time.Now())
			c.mu.Unlock()
			return nil
		})
	}()
	t.Cleanup(func() { cancel(); <-c.done })
	return c
}

func (c *candidate) lastStop() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.stopped) == 0 {
		return time.Time{}
	}
	return c.stopped[len(c.stopped)-1]
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) time.Time {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Now()
}

func holder(t *testing.T, leases coordinationv1.LeasesGetter) string {
	l, err := leases.Leases("kube-system").Get(context.Background(), "test-lease", metav1.GetOptions{})
	if err != nil {
		return "<" + err.Error() + ">"
	}
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// failingLeases refuses lease writes while fail is set, as an API
// server the leader cannot reach would.
type failingLeases struct {
	coordinationv1.LeasesGetter
	fail *atomic.Bool
}

func (f failingLeases) Leases(ns string) coordinationv1.LeaseInterface {
	return failingLease{f.LeasesGetter.Leases(ns), f.fail}
}

type failingLease struct {
	coordinationv1.LeaseInterface
	fail *atomic.Bool
}

func (f failingLease) Update(ctx context.Context, l *coordv1.Lease, o metav1.UpdateOptions) (*coordv1.Lease, error) {
	if f.fail.Load() {
		return nil, errors.New("connection refused")
	}
	return f.LeaseInterface.Update(ctx, l, o)
}

func (f failingLease) Get(ctx context.Context, name string, o metav1.GetOptions) (*coordv1.Lease, error) {
	if f.fail.Load() {
		return nil, errors.New("connection refused")
	}
	return f.LeaseInterface.Get(ctx, name, o)
}

// stallingLeases hold lease calls while stall is set, as a paused
// process or a stalled connection would, then make them.
type stallingLeases struct {
	coordinationv1.LeasesGetter
	stall *atomic.Bool
}

func (f stallingLeases) Leases(ns string) coordinationv1.LeaseInterface {
	return stallingLease{f.LeasesGetter.Leases(ns), f.stall}
}

type stallingLease struct {
	coordinationv1.LeaseInterface
	stall *atomic.Bool
}

func (f stallingLease) wait(ctx context.Context) error {
	for f.stall.Load() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

func (f stallingLease) Update(ctx context.Context, l *coordv1.Lease, o metav1.UpdateOptions) (*coordv1.Lease, error) {
	if err := f.wait(ctx); err != nil {
		return nil, err
	}
	return f.LeaseInterface.Update(ctx, l, o)
}

func (f stallingLease) Get(ctx context.Context, name string, o metav1.GetOptions) (*coordv1.Lease, error) {
	if err := f.wait(ctx); err != nil {
		return nil, err
	}
	return f.LeaseInterface.Get(ctx, name, o)
}

func takeLease(t *testing.T, leases coordinationv1.LeasesGetter, id string) *coordv1.Lease {
	t.Helper()
	var out *coordv1.Lease
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		l, err := leases.Leases("kube-system").Get(context.Background(), "test-lease", metav1.GetOptions{})
		if err != nil {
			return err
		}
		l.Spec.HolderIdentity = ptr(id)
		l.Spec.RenewTime = &metav1.MicroTime{Time: time.Now()}
		out, err = leases.Leases("kube-system").Update(context.Background(), l, metav1.UpdateOptions{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRun(t *testing.T) {
	s := clustertest.Start(t)
	leases := s.Client.CoordinationV1()
	reset := func(t *testing.T) {
		t.Helper()
		err := leases.Leases("kube-system").Delete(context.Background(), "test-lease", metav1.DeleteOptions{})
		if err != nil && !isNotFound(err) {
			t.Fatal(err)
		}
	}

	t.Run("another process takes the lease, then stops", func(t *testing.T) {
		reset(t)
		a := campaign(t, leases, "a", nil)
		waitFor(t, "a leads", 10*time.Second, func() bool { return a.working.Load() && holder(t, leases) == "a" })
		b := campaign(t, leases, "b", nil)
		// b takes the lease over, as a leader that a could not reach
		// would after it expired.
		took := time.Now()
		takeLease(t, leases, "b")
		stoppedAt := waitFor(t, "a stops working", renewDeadline, func() bool { return !a.working.Load() })
		t.Logf("a stopped %s after the takeover", stoppedAt.Sub(took).Round(time.Millisecond))
		waitFor(t, "b leads", leaseDuration, func() bool { return b.working.Load() })
		if a.working.Load() {
			t.Fatal("a works again while b holds the lease")
		}
		// b stops: it releases the lease and a takes it back without
		// waiting for it to expire.
		b.cancel()
		if err := <-b.done; err != nil {
			t.Fatalf("b: %v", err)
		}
		b.done <- nil // for the cleanup
		released := time.Now()
		resumed := waitFor(t, "a leads again", leaseDuration, func() bool { return a.working.Load() && holder(t, leases) == "a" })
		t.Logf("a resumed %s after b stopped", resumed.Sub(released).Round(time.Millisecond))
		if got := a.terms.Load(); got != 2 {
			t.Errorf("a had %d terms, want 2", got)
		}
	})

	t.Run("renewals fail: work stops before the lease expires", func(t *testing.T) {
		reset(t)
		var fail atomic.Bool
		a := campaign(t, failingLeases{leases, &fail}, "a", nil)
		waitFor(t, "a leads", 10*time.Second, func() bool { return a.working.Load() })
		l, err := leases.Leases("kube-system").Get(context.Background(), "test-lease", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		fail.Store(true)
		// Others may take the lease LeaseDuration after its last renewal.
		expires := l.Spec.RenewTime.Add(leaseDuration)
		waitFor(t, "a stops working", leaseDuration, func() bool { return !a.working.Load() })
		if stop := a.lastStop(); !stop.Before(expires) {
			t.Errorf("work stopped at %s, after the lease expired for others at %s", stop, expires)
		}
		fail.Store(false)
		waitFor(t, "a leads again once it reaches the API", 10*time.Second, func() bool { return a.working.Load() })
	})

	t.Run("a leader that stalled past its lease writes nothing after the loss", func(t *testing.T) {
		reset(t)
		var stall atomic.Bool
		a := campaign(t, stallingLeases{leases, &stall}, "a", nil)
		waitFor(t, "a leads", 10*time.Second, func() bool { return a.working.Load() })
		stall.Store(true)
		// Another process took the lease while a stalled.
		taken := takeLease(t, leases, "b")
		waitFor(t, "a stops working", leaseDuration, func() bool { return !a.working.Load() })
		stall.Store(false)
		// a campaigns again: it reads the lease, and neither releases nor
		// renews b's.
		deadline := time.Now().Add(3 * retryPeriod)
		for time.Now().Before(deadline) {
			l, err := leases.Leases("kube-system").Get(context.Background(), "test-lease", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if l.ResourceVersion != taken.ResourceVersion {
				t.Fatalf("a wrote the lease after losing it: holder %q", ptrString(l.Spec.HolderIdentity))
			}
			time.Sleep(50 * time.Millisecond)
		}
		if a.working.Load() {
			t.Error("a works while b holds the lease")
		}
	})

	t.Run("work fails: the error is returned and the lease released", func(t *testing.T) {
		reset(t)
		broken := errors.New("informer did not sync")
		a := campaign(t, leases, "a", broken)
		var err error
		select {
		case err = <-a.done:
			a.done <- nil
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return")
		}
		if !errors.Is(err, broken) {
			t.Fatalf("err = %v, want %v", err, broken)
		}
		if h := holder(t, leases); h != "" {
			t.Errorf("lease still held by %q", h)
		}
	})

	t.Run("stopping releases the lease", func(t *testing.T) {
		reset(t)
		a := campaign(t, leases, "a", nil)
		waitFor(t, "a leads", 10*time.Second, func() bool { return a.working.Load() })
		a.cancel()
		if err := <-a.done; err != nil {
			t.Fatalf("Run: %v", err)
		}
		a.done <- nil
		if a.working.Load() {
			t.Error("work still running after Run returned")
		}
		if h := holder(t, leases); h != "" {
			t.Errorf("lease still held by %q", h)
		}
	})
}

func ptr[T any](v T) *T { return &v }

func isNotFound(err error) bool { return apierrors.IsNotFound(err) }

func ptrString(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}
