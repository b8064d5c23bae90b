package controller

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// scripted is a sync that returns its results in order, then nil, and
// counts its calls.
type scripted struct {
	mu      sync.Mutex
	results []error
	calls   int
	times   []time.Time
}

func (s *scripted) sync(context.Context, string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	s.times = append(s.times, time.Now())
	if len(s.results) == 0 {
		return nil
	}
	err := s.results[0]
	if len(s.results) > 1 {
		s.results = s.results[1:]
	}
	return err
}

func (s *scripted) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// lockedBuffer is a log sink the loop's workers write to concurrently.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLoop(t *testing.T) {
	fail := errors.New("connection refused")
	tests := []struct {
		name    string
		results []error
		// calls is how many syncs the key gets in all.
		calls int
		// retriesLeft is the key's retry count once it settled.
		retriesLeft int
		// minGap is the least time between the last two syncs.
		minGap   time.Duration
		logs     []string
		notLogs  []string
		retries  float64
		warnFrom int
	}{
		{name: "success", results: nil, calls: 1, notLogs: []string{"sync failed"}},
		{name: "transient failures are retried quietly", results: []error{fail, fail, nil}, calls: 3,
			retries: 2, logs: []string{"level=DEBUG msg=\"sync failed; retrying\" key=ns/a retries=2"}, notLogs: []string{"level=WARN"}},
		{name: "a key that keeps failing is logged at warn", results: []error{fail, fail, fail, fail, nil}, calls: 5, warnFrom: 3,
			retries: 4, logs: []string{"level=DEBUG msg=\"sync failed; retrying\" key=ns/a retries=2", `level=WARN msg="sync failed; retrying" key=ns/a retries=3 err="connection refused"`, "level=WARN msg=\"sync failed; retrying\" key=ns/a retries=4"}},
		// A requeue is a delayed add, which upstream's metrics count as a retry.
		{name: "requeue", results: []error{RequeueAfter(200 * time.Millisecond), nil}, calls: 2, minGap: 200 * time.Millisecond, retries: 1,
			notLogs: []string{"sync failed"}},
		{name: "terminal errors are not retried", results: []error{Terminal(errors.New("bad selector"))}, calls: 1,
			logs: []string{`level=ERROR msg="sync failed; not retrying" key=ns/a err="bad selector"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out lockedBuffer
			log := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
			reg := prometheus.NewRegistry()
			metrics, err := NewMetrics(reg)
			if err != nil {
				t.Fatal(err)
			}
			s := &scripted{results: tt.results}
			l := (&Context{Metrics: metrics}).NewLoop("test", s.sync, log)
			if tt.warnFrom > 0 {
				l.WarnAfter = tt.warnFrom
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); l.Run(ctx, 2) }()
			t.Cleanup(func() { cancel(); <-done })

			l.Queue.Add("ns/a")
			waitUntil(t, "the syncs", func() bool { return s.count() >= tt.calls })
			waitUntil(t, "the key to settle", func() bool { return l.Queue.Len() == 0 && l.Queue.NumRequeues("ns/a") == tt.retriesLeft })
			// Nothing more comes: a settled key is not synced again.
			time.Sleep(300 * time.Millisecond)
			if got := s.count(); got != tt.calls {
				t.Errorf("syncs = %d, want %d", got, tt.calls)
			}
			if tt.minGap > 0 {
				s.mu.Lock()
				gap := s.times[len(s.times)-1].Sub(s.times[len(s.times)-2])
				s.mu.Unlock()
				if gap < tt.minGap {
					t.Errorf("requeued after %s, want at least %s", gap, tt.minGap)
				}
			}
			logs := out.String()
			for _, want := range tt.logs {
				if !strings.Contains(logs, want) {
					t.Errorf("log lacks %q:\n%s", want, logs)
				}
			}
			for _, not := range tt.notLogs {
				if strings.Contains(logs, not) {
					t.Errorf("log has %q:\n%s", not, logs)
				}
			}
			if got := valueOf(t, metrics.retries.WithLabelValues("test")); got != tt.retries {
				t.Errorf("workqueue_retries_total = %v, want %v", got, tt.retries)
			}
			if got := valueOf(t, metrics.adds.WithLabelValues("test")); got < 1 {
				t.Errorf("workqueue_adds_total = %v, want at least 1", got)
			}
		})
	}
}

// TestMetricsExposition: the names and labels dashboards query.
func TestMetricsExposition(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	l := (&Context{Metrics: m}).NewLoop("deployment", func(context.Context, string) error { return nil }, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.Run(ctx, 1) }()
	l.Queue.Add("ns/a")
	waitUntil(t, "the sync", func() bool { return valueOf(t, m.adds.WithLabelValues("deployment")) == 1 && l.Queue.Len() == 0 })
	cancel()
	<-done
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, f := range families {
		for _, metric := range f.GetMetric() {
			for _, lp := range metric.GetLabel() {
				if lp.GetName() == "name" && lp.GetValue() == "deployment" {
					got[f.GetName()] = true
				}
			}
		}
	}
	for _, name := range []string{"workqueue_depth", "workqueue_adds_total", "workqueue_queue_duration_seconds",
		"workqueue_work_duration_seconds", "workqueue_retries_total", "workqueue_unfinished_work_seconds",
		"workqueue_longest_running_processor_seconds"} {
		if !got[name] {
			t.Errorf("no %s{name=\"deployment\"}; have %v", name, got)
		}
	}
}

// valueOf reads a counter's value.
func valueOf(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func TestRequeueSoonest(t *testing.T) {
	tests := []struct {
		name   string
		delays []time.Duration
		want   time.Duration // 0: no requeue
	}{
		{"nothing to wait for", nil, 0},
		{"zeros are no wait", []time.Duration{0, 0}, 0},
		{"one", []time.Duration{0, 3 * time.Second}, 3 * time.Second},
		{"the soonest wins", []time.Duration{10 * time.Second, 2 * time.Second, 5 * time.Second}, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := RequeueSoonest(tt.delays...)
			var rq *Requeue
			switch {
			case tt.want == 0 && err != nil:
				t.Errorf("got %v, want no requeue", err)
			case tt.want != 0 && (!errors.As(err, &rq) || rq.After != tt.want):
				t.Errorf("got %v, want a requeue after %s", err, tt.want)
			}
		})
	}
}
