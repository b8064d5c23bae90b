package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// health is what /healthz, /livez and /readyz report, as upstream's
// kube-apiserver does: named checks run at each request (ping, log,
// etcd), start-up steps that pass once the server assembly says they are
// done ("poststarthook/bootstrap-controller", "autoregister-completion",
// "informer-sync"), and, for /readyz only, shutdown. Monitors, load
// balancers and scripts read these names (`kubectl get --raw
// '/readyz?verbose'`), so they are upstream's.
type health struct {
	mu    sync.Mutex
	steps map[string]*step // by check name
	order []string         // the steps' names, in the order added

	checks   []namedCheck // run at each request
	stopping atomic.Bool
}

type step struct {
	done  atomic.Bool
	check func(context.Context) error // nil: passes once done
}

type namedCheck struct {
	name  string
	check func(context.Context) error
}

// readyOnly are the checks /readyz has and /healthz and /livez have not.
var readyOnly = map[string]bool{"informer-sync": true, "shutdown": true}

// errNotFinished is a start-up step's failure until it is done.
var errNotFinished = fmt.Errorf("not finished")

// StartupStep adds a check named name that fails until the returned
// function is called: a start-up step of the server's assembly, named as
// upstream names its counterpart ("poststarthook/start-kube-aggregator-
// informers"). Calling done more than once is harmless.
func (s *Server) StartupStep(name string) (done func()) {
	st := s.health.add(name, nil)
	return func() { st.done.Store(true) }
}

// StartupCheck adds a check named name that runs check at each request
// until it first passes, and passes from then on: a start-up step that
// is done when what it makes exists (the built-in APIServices, a
// ConfigMap), which a client of the API sees.
func (s *Server) StartupCheck(name string, check func(context.Context) error) {
	s.health.add(name, check)
}

func (h *health) add(name string, check func(context.Context) error) *step {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.steps == nil {
		h.steps = map[string]*step{}
	}
	if st, ok := h.steps[name]; ok {
		return st
	}
	st := &step{check: check}
	h.steps[name] = st
	h.order = append(h.order, name)
	return st
}

func (st *step) run(ctx context.Context) error {
	if st.done.Load() {
		return nil
	}
	if st.check == nil {
		return errNotFinished
	}
	if err := st.check(ctx); err != nil {
		return err
	}
	st.done.Store(true)
	return nil
}

// list is the checks of one endpoint ("healthz", "livez", "readyz"), in
// upstream's order: the fixed checks, then the start-up steps sorted by
// name, then shutdown.
func (h *health) list(endpoint string) []namedCheck {
	out := make([]namedCheck, 0, len(h.checks)+len(h.order)+1)
	for _, c := range h.checks {
		if endpoint == "readyz" || !readyOnly[c.name] {
			out = append(out, c)
		}
	}
	h.mu.Lock()
	steps := make([]namedCheck, 0, len(h.order))
	for _, name := range h.order {
		if endpoint == "readyz" || !readyOnly[name] {
			steps = append(steps, namedCheck{name: name, check: h.steps[name].run})
		}
	}
	h.mu.Unlock()
	slices.SortStableFunc(steps, func(a, b namedCheck) int {
		return strings.Compare(sortKey(a.name), sortKey(b.name))
	})
	out = append(out, steps...)
	if endpoint == "readyz" {
		out = append(out, namedCheck{name: "shutdown", check: func(context.Context) error {
			if h.stopping.Load() {
				return fmt.Errorf("process is shutting down")
			}
			return nil
		}})
	}
	return out
}

// sortKey puts informer-sync before the post-start hooks and the other
// named steps after them, as upstream lists them.
func sortKey(name string) string {
	switch {
	case name == "informer-sync":
		return "0"
	case strings.HasPrefix(name, "poststarthook/"):
		return "1" + name
	}
	return "2" + name
}

// serveHealth answers /healthz, /livez, /readyz and their per-check
// paths (/readyz/etcd) as upstream: "ok", or every check's line with
// ?verbose; a failing check makes the answer 500 and lists every check,
// its reason withheld (it is logged). ?exclude=NAME leaves a check out.
func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	endpoint, sub, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	checks := s.health.list(endpoint)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if sub != "" {
		i := slices.IndexFunc(checks, func(c namedCheck) bool { return c.name == sub })
		if i < 0 {
			http.NotFound(w, r)
			return
		}
		if err := checks[i].check(ctx); err != nil {
			s.log.Info("health check failed", "endpoint", endpoint, "check", sub, "err", err)
			http.Error(w, fmt.Sprintf("internal server error: %v", err), http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("ok"))
		return
	}
	excluded := map[string]bool{}
	for _, name := range r.URL.Query()["exclude"] {
		excluded[strings.TrimSpace(name)] = true
	}
	var b strings.Builder
	failed := false
	for _, c := range checks {
		if excluded[c.name] {
			delete(excluded, c.name)
			fmt.Fprintf(&b, "[+]%s excluded: ok\n", c.name)
			continue
		}
		if err := c.check(ctx); err != nil {
			failed = true
			s.log.Info("health check failed", "endpoint", endpoint, "check", c.name, "err", err)
			fmt.Fprintf(&b, "[-]%s failed: reason withheld\n", c.name)
			continue
		}
		fmt.Fprintf(&b, "[+]%s ok\n", c.name)
	}
	if len(excluded) > 0 {
		names := make([]string, 0, len(excluded))
		for n := range excluded {
			names = append(names, fmt.Sprintf("%q", n))
		}
		slices.Sort(names)
		fmt.Fprintf(&b, "warn: some health checks cannot be excluded: no matches for %s\n", strings.Join(names, ","))
	}
	if failed {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(b.String() + endpoint + " check failed\n"))
		return
	}
	if !r.URL.Query().Has("verbose") {
		_, _ = w.Write([]byte("ok"))
		return
	}
	_, _ = w.Write([]byte(b.String() + endpoint + " check passed\n"))
}
