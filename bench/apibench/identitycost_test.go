package apibench

import (
	"testing"
	"time"
)

func TestIdentityOrder(t *testing.T) {
	got := identityOrder(3)
	want := []string{IdentityAdmin, IdentityRBAC, IdentityRBAC, IdentityAdmin, IdentityAdmin, IdentityRBAC}
	if len(got) != len(want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order %v, want %v", got, want)
		}
	}
}

func TestJudgeIdentities(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name          string
		admin, rbac   identitySummary
		rateOK, p99OK bool
		loss          float64
	}{
		{"same", identitySummary{CreatesPerSec: 1000, P99: 40 * ms}, identitySummary{CreatesPerSec: 1000, P99: 40 * ms}, true, true, 0},
		{"rbac faster", identitySummary{CreatesPerSec: 1000, P99: 40 * ms}, identitySummary{CreatesPerSec: 1100, P99: 30 * ms}, true, true, -0.1},
		{"5% lost is allowed", identitySummary{CreatesPerSec: 1000, P99: 40 * ms}, identitySummary{CreatesPerSec: 950, P99: 41 * ms}, true, true, 0.05},
		{"6% lost", identitySummary{CreatesPerSec: 1000, P99: 40 * ms}, identitySummary{CreatesPerSec: 940, P99: 40 * ms}, false, true, 0.06},
		{"p99 +1.1 ms", identitySummary{CreatesPerSec: 1000, P99: 40 * ms}, identitySummary{CreatesPerSec: 1000, P99: 41*ms + 100*time.Microsecond}, true, false, 0},
		{"no admin rate", identitySummary{}, identitySummary{CreatesPerSec: 10}, true, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := judgeIdentities(tt.admin, tt.rbac)
			if v.RateOK != tt.rateOK || v.P99OK != tt.p99OK {
				t.Errorf("rate ok %v, p99 ok %v; want %v, %v (%+v)", v.RateOK, v.P99OK, tt.rateOK, tt.p99OK, v)
			}
			if d := v.RateLoss - tt.loss; d > 1e-9 || d < -1e-9 {
				t.Errorf("loss %v, want %v", v.RateLoss, tt.loss)
			}
		})
	}
}

func TestSummarizeMedians(t *testing.T) {
	runs := []*Result{
		{CreatesPerSec: 900, Created: 100, ServerCPU: 300 * time.Millisecond, Create: Latencies{P50: 5 * time.Millisecond, P99: 50 * time.Millisecond}},
		{CreatesPerSec: 1100, Created: 100, ServerCPU: 100 * time.Millisecond, Create: Latencies{P50: 3 * time.Millisecond, P99: 30 * time.Millisecond}},
		{CreatesPerSec: 1000, Created: 100, ServerCPU: 200 * time.Millisecond, Create: Latencies{P50: 4 * time.Millisecond, P99: 40 * time.Millisecond}},
	}
	s := summarize(runs)
	if s.CreatesPerSec != 1000 || s.P50 != 4*time.Millisecond || s.P99 != 40*time.Millisecond || s.CPUPerCreate != 2*time.Millisecond {
		t.Errorf("summary %+v", s)
	}
}
