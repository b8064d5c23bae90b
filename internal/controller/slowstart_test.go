package controller

import (
	"errors"
	"sync/atomic"
	"testing"
)

func TestSlowStart(t *testing.T) {
	var calls atomic.Int32
	ok, errs := SlowStart(20, func(int) error { calls.Add(1); return nil })
	if ok != 20 || errs != nil || calls.Load() != 20 {
		t.Fatalf("all succeed: %d %v %d calls", ok, errs, calls.Load())
	}
	// Failing from the start: one call, not twenty.
	calls.Store(0)
	ok, errs = SlowStart(20, func(int) error { calls.Add(1); return errors.New("refused") })
	if ok != 0 || len(errs) == 0 || calls.Load() != 1 {
		t.Fatalf("all fail: %d %v %d calls", ok, errs, calls.Load())
	}
	// Failing after 5 calls: batches 1, 2, 4 (the third fails partly).
	calls.Store(0)
	ok, errs = SlowStart(20, func(int) error {
		if calls.Add(1) > 5 {
			return errors.New("quota")
		}
		return nil
	})
	if ok != 5 || len(errs) == 0 || calls.Load() != 7 {
		t.Fatalf("partial: %d ok %v, %d calls", ok, errs, calls.Load())
	}
}
