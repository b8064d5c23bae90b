package apiserver

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The health endpoints as upstream's answer them, with a start-up step
// pending or done and etcd up or down.
func TestServeHealth(t *testing.T) {
	type state struct{ stepDone, etcdDown, checkPasses, stopping bool }
	tests := []struct {
		name     string
		state    state
		path     string
		wantCode int
		want     string
	}{
		{name: "healthy, short", state: state{stepDone: true, checkPasses: true}, path: "/readyz", wantCode: 200, want: "ok"},
		{name: "healthy, verbose", state: state{stepDone: true, checkPasses: true}, path: "/readyz?verbose", wantCode: 200,
			want: "[+]ping ok\n[+]log ok\n[+]etcd ok\n[+]informer-sync ok\n[+]poststarthook/bootstrap-controller ok\n[+]autoregister-completion ok\n[+]shutdown ok\nreadyz check passed\n"},
		{name: "healthz has no readyz-only checks", state: state{stepDone: true, checkPasses: true}, path: "/healthz?verbose=1", wantCode: 200,
			want: "[+]ping ok\n[+]log ok\n[+]etcd ok\n[+]poststarthook/bootstrap-controller ok\n[+]autoregister-completion ok\nhealthz check passed\n"},
		{name: "a step not done fails, every check listed", state: state{checkPasses: true}, path: "/livez", wantCode: 500,
			want: "[+]ping ok\n[+]log ok\n[+]etcd ok\n[-]poststarthook/bootstrap-controller failed: reason withheld\n[+]autoregister-completion ok\nlivez check failed\n"},
		{name: "a check not passing yet", state: state{stepDone: true}, path: "/healthz", wantCode: 500,
			want: "[+]ping ok\n[+]log ok\n[+]etcd ok\n[+]poststarthook/bootstrap-controller ok\n[-]autoregister-completion failed: reason withheld\nhealthz check failed\n"},
		{name: "etcd down, excluded", state: state{stepDone: true, checkPasses: true, etcdDown: true}, path: "/healthz?exclude=etcd&exclude=nope&verbose", wantCode: 200,
			want: "[+]ping ok\n[+]log ok\n[+]etcd excluded: ok\n[+]poststarthook/bootstrap-controller ok\n[+]autoregister-completion ok\nwarn: some health checks cannot be excluded: no matches for \"nope\"\nhealthz check passed\n"},
		{name: "shutting down: not ready, still live", state: state{stepDone: true, checkPasses: true, stopping: true}, path: "/readyz/shutdown", wantCode: 500,
			want: "internal server error: process is shutting down\n"},
		{name: "live while shutting down", state: state{stepDone: true, checkPasses: true, stopping: true}, path: "/livez", wantCode: 200, want: "ok"},
		{name: "one check", state: state{stepDone: true, checkPasses: true}, path: "/healthz/etcd", wantCode: 200, want: "ok"},
		{name: "one check failing", state: state{etcdDown: true}, path: "/livez/etcd", wantCode: 500, want: "internal server error: etcd: connection refused\n"},
		{name: "a step by its name", state: state{}, path: "/readyz/poststarthook/bootstrap-controller", wantCode: 500, want: "internal server error: not finished\n"},
		{name: "no such check", state: state{}, path: "/healthz/nope", wantCode: 404, want: "404 page not found\n"},
		{name: "readyz-only check on livez", state: state{}, path: "/livez/informer-sync", wantCode: 404, want: "404 page not found\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			s.health.checks = []namedCheck{
				{name: "ping", check: func(context.Context) error { return nil }},
				{name: "log", check: func(context.Context) error { return nil }},
				{name: "etcd", check: func(context.Context) error {
					if tc.state.etcdDown {
						return errors.New("etcd: connection refused")
					}
					return nil
				}},
			}
			s.StartupCheck("autoregister-completion", func(context.Context) error {
				if !tc.state.checkPasses {
					return errors.New("missing APIService: [v1.apps]")
				}
				return nil
			})
			done := s.StartupStep("poststarthook/bootstrap-controller")
			sync := s.StartupStep("informer-sync")
			sync()
			if tc.state.stepDone {
				done()
			}
			s.health.stopping.Store(tc.state.stopping)
			rec := httptest.NewRecorder()
			s.serveHealth(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
			if rec.Code != tc.wantCode || rec.Body.String() != tc.want {
				t.Errorf("GET %s = %d %q, want %d %q", tc.path, rec.Code, rec.Body.String(), tc.wantCode, tc.want)
			}
		})
	}
}

// A start-up check passes for good once it passed: what it waited for
// (the built-in APIServices) was made.
func TestStartupCheckLatches(t *testing.T) {
	s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	calls, pass := 0, false
	s.StartupCheck("autoregister-completion", func(context.Context) error {
		calls++
		if !pass {
			return errors.New("not yet")
		}
		return nil
	})
	get := func() int {
		rec := httptest.NewRecorder()
		s.serveHealth(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		return rec.Code
	}
	if got := get(); got != 500 {
		t.Fatalf("before: %d, want 500", got)
	}
	pass = true
	if got := get(); got != 200 {
		t.Fatalf("once passing: %d, want 200", got)
	}
	pass = false
	if got := get(); got != 200 || calls != 2 {
		t.Fatalf("after: %d with %d calls, want 200 with 2 (no third call)", got, calls)
	}
}
