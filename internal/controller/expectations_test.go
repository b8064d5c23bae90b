package controller

import (
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

func TestExpectations(t *testing.T) {
	type step struct {
		do        func(e *Expectations, clk *clocktesting.FakeClock)
		satisfied bool
	}
	const key = "ns/rs"
	tests := []struct {
		name  string
		steps []step
	}{
		{"no record", []step{{func(*Expectations, *clocktesting.FakeClock) {}, true}}},
		{"creations", []step{
			{func(e *Expectations, _ *clocktesting.FakeClock) { e.ExpectCreations(key, 2) }, false},
			{func(e *Expectations, _ *clocktesting.FakeClock) { e.CreationObserved(key) }, false},
			{func(e *Expectations, _ *clocktesting.FakeClock) { e.CreationObserved(key) }, true},
		}},
		{"a failed batch lowers what is expected", []step{
			{func(e *Expectations, _ *clocktesting.FakeClock) { e.ExpectCreations(key, 5) }, false},
			{func(e *Expectations, _ *clocktesting.FakeClock) { e.Lower(key, 3, 0) }, false},
			{func(e *Expectations, _ *clocktesting.FakeClock) { e.CreationObserved(key); e.CreationObserved(key) }, true},
		}},
		{"counted deletions: any pod counts", []step{
			{func(e *Expectations, _ *clocktesting.FakeClock) { e.ExpectDeletions(key, 1) }, false},
			{func(e *Expectations, _ *clocktesting.FakeClock) { e.DeletionObserved(key, "ns/other") }, true},
		}},
		{"named deletions: only the named pods count", []step{
			{func(e *Expectations, _ *clocktesting.FakeClock) { e.ExpectDeletionsOf(key, []string{"ns/a", "ns/b"}) }, false},
			{func(e *Expectations, _ *clocktesting.FakeClock) { e.DeletionObserved(key, "ns/c") }, false},
			{func(e *Expectations, _ *clocktesting.FakeClock) { e.DeletionObserved(key, "ns/a") }, false},
			// Seen twice (update with deletionTimestamp, then delete): once.
			{func(e *Expectations, _ *clocktesting.FakeClock) { e.DeletionObserved(key, "ns/a") }, false},
			{func(e *Expectations, _ *clocktesting.FakeClock) { e.DeletionObserved(key, "ns/b") }, true},
		}},
		{"expectations expire after the TTL", []step{
			{func(e *Expectations, _ *clocktesting.FakeClock) { e.ExpectCreations(key, 1) }, false},
			{func(_ *Expectations, clk *clocktesting.FakeClock) { clk.Step(ExpectationsTTL) }, false},
			{func(_ *Expectations, clk *clocktesting.FakeClock) { clk.Step(time.Second) }, true},
		}},
		{"a new expectation replaces the old", []step{
			{func(e *Expectations, _ *clocktesting.FakeClock) { e.ExpectCreations(key, 1) }, false},
			{func(e *Expectations, _ *clocktesting.FakeClock) { e.ExpectDeletions(key, 1) }, false},
			{func(e *Expectations, _ *clocktesting.FakeClock) { e.DeletionObserved(key, "ns/a") }, true},
		}},
		{"forget", []step{
			{func(e *Expectations, _ *clocktesting.FakeClock) { e.ExpectCreations(key, 3) }, false},
			{func(e *Expectations, _ *clocktesting.FakeClock) { e.Forget(key) }, true},
			// Observations after Forget do not go negative into a record.
			{func(e *Expectations, _ *clocktesting.FakeClock) { e.CreationObserved(key) }, true},
		}},
		{"observations of another key do not count", []step{
			{func(e *Expectations, _ *clocktesting.FakeClock) { e.ExpectCreations(key, 1) }, false},
			{func(e *Expectations, _ *clocktesting.FakeClock) { e.CreationObserved("ns/other") }, false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clocktesting.NewFakeClock(time.Now())
			e := NewExpectations(clk)
			for i, s := range tt.steps {
				s.do(e, clk)
				if got := e.Satisfied(key); got != s.satisfied {
					t.Fatalf("step %d: satisfied = %v, want %v", i, got, s.satisfied)
				}
			}
		})
	}
}
