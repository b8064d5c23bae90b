package component

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

func TestSupervisor(t *testing.T) {
	broken := errors.New("informer for *v1.Pod did not sync")
	tests := []struct {
		name string
		// fails is how many runs fail before one runs until stopped
		// (-1: every run fails).
		fails    int
		restart  bool
		runTakes time.Duration // the clock's advance per run
		wantErr  string
		runs     int32
		warns    int
		errors   int
	}{
		{name: "keeps failing: gives up", fails: -1, restart: true, runs: 4, warns: 3, errors: 1,
			wantErr: "scheduler failed 4 times in a row: informer for *v1.Pod did not sync"},
		{name: "recovers after restarts", fails: 2, restart: true, runs: 3, warns: 2},
		{name: "runs that lasted start the count again", fails: 8, restart: true, runTakes: time.Hour, runs: 9, warns: 8},
		{name: "no restart: stops at once", fails: 1, restart: false, runs: 1, errors: 1,
			wantErr: "scheduler: informer for *v1.Pod did not sync"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			var mu sync.Mutex
			log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
				mu.Lock()
				defer mu.Unlock()
				return out.Write(p)
			}), nil))
			var now time.Time
			var clockMu sync.Mutex
			sv := &Supervisor{Log: log, Backoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond, MaxRestarts: 3, Healthy: time.Minute,
				now: func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }}
			var runs atomic.Int32
			steady := make(chan struct{})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// The other component sees the process stop when this one
			// gives up.
			otherStopped := make(chan struct{})
			other := Task{Name: "controller-manager", Restart: true, Run: func(ctx context.Context) error {
				<-ctx.Done()
				close(otherStopped)
				return nil
			}}
			task := Task{Name: "scheduler", Restart: tt.restart, Run: func(ctx context.Context) error {
				n := runs.Add(1)
				clockMu.Lock()
				now = now.Add(tt.runTakes)
				clockMu.Unlock()
				if tt.fails < 0 || int(n) <= tt.fails {
					return broken
				}
				close(steady)
				<-ctx.Done()
				return nil
			}}
			errc := make(chan error, 1)
			go func() { errc <- sv.Run(ctx, task, other) }()
			if tt.wantErr == "" {
				select {
				case <-steady:
				case err := <-errc:
					t.Fatalf("gave up: %v", err)
				case <-time.After(10 * time.Second):
					t.Fatal("never ran steadily")
				}
				cancel()
			}
			var err error
			select {
			case err = <-errc:
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return")
			}
			if got := fmt.Sprint(err); (tt.wantErr == "" && err != nil) || (tt.wantErr != "" && got != tt.wantErr) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
			select {
			case <-otherStopped:
			default:
				t.Error("the other component still runs")
			}
			if got := runs.Load(); got != tt.runs {
				t.Errorf("runs = %d, want %d", got, tt.runs)
			}
			mu.Lock()
			logs := out.String()
			mu.Unlock()
			if got := strings.Count(logs, "level=WARN"); got != tt.warns {
				t.Errorf("%d warnings, want %d:\n%s", got, tt.warns, logs)
			}
			if got := strings.Count(logs, "level=ERROR"); got != tt.errors {
				t.Errorf("%d errors, want %d:\n%s", got, tt.errors, logs)
			}
			if tt.warns > 0 && !strings.Contains(logs, `msg="component failed; restarting" component=scheduler`) {
				t.Errorf("restart not logged with the component:\n%s", logs)
			}
		})
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestWaitForAPI: nothing listens: the error names the server and the
// deadline instead of waiting forever.
func TestWaitForAPI(t *testing.T) {
	cfg := &rest.Config{Host: "https://127.0.0.1:1"}
	start := time.Now()
	err := WaitForAPI(context.Background(), cfg, 1500*time.Millisecond, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "API server https://127.0.0.1:1 did not answer within 1.5s") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
}
