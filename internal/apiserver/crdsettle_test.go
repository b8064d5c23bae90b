package apiserver

import (
	"sync/atomic"
	"testing"
	"time"
)

// A burst of CRD changes runs the settled hook once, after the last
// change, and a later change runs it again.
func TestCRDsSettledOnceAfterABurst(t *testing.T) {
	var calls atomic.Int32
	done := make(chan time.Time, 4)
	crs := &customResources{settled: func() {
		calls.Add(1)
		done <- time.Now()
	}}
	var last time.Time
	for i := 0; i < 5; i++ {
		crs.mu.Lock()
		crs.noteChange()
		last = time.Now()
		crs.mu.Unlock()
		time.Sleep(crdSettleDelay / 10)
	}
	select {
	case at := <-done:
		if at.Sub(last) < crdSettleDelay {
			t.Errorf("settled %s after the last change, want at least %s", at.Sub(last), crdSettleDelay)
		}
	case <-time.After(10 * crdSettleDelay):
		t.Fatal("settled never ran")
	}
	crs.mu.Lock()
	crs.noteChange()
	crs.mu.Unlock()
	select {
	case <-done:
	case <-time.After(10 * crdSettleDelay):
		t.Fatal("settled did not run after a later change")
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("settled ran %d times, want 2", n)
	}
}
