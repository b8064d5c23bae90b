package proxy

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// health is upstream's /healthz: healthy while syncs keep up with changes
// and the node is not being deleted.
type health struct {
	mu           sync.Mutex
	lastUpdated  time.Time // last successful sync
	pendingSince time.Time // oldest change not yet synced (zero: none)
	nodeDeleting bool
	timeout      time.Duration
	now          func() time.Time
}

func (h *health) synced(at time.Time, pending bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastUpdated = at
	if !pending {
		h.pendingSince = time.Time{}
	}
}

func (h *health) queued(at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pendingSince.IsZero() {
		h.pendingSince = at
	}
}

func (h *health) setNodeDeleting(d bool) {
	h.mu.Lock()
	h.nodeDeleting = d
	h.mu.Unlock()
}

// state is whether the proxy is healthy, and why not.
func (h *health) state() (bool, map[string]any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	healthy := !h.lastUpdated.IsZero() && (h.pendingSince.IsZero() || now.Sub(h.pendingSince) < h.timeout)
	body := map[string]any{
		"lastUpdated":  h.lastUpdated.UTC().Format(time.RFC3339Nano),
		"currentTime":  now.UTC().Format(time.RFC3339Nano),
		"nodeEligible": !h.nodeDeleting,
	}
	return healthy, body
}

func (h *health) serveHealthz(w http.ResponseWriter, _ *http.Request) {
	ok, body := h.state()
	if nodeOK, _ := body["nodeEligible"].(bool); !nodeOK {
		ok = false
	}
	writeJSON(w, ok, body)
}

func (h *health) serveLivez(w http.ResponseWriter, _ *http.Request) {
	ok, body := h.state()
	writeJSON(w, ok, body)
}

func writeJSON(w http.ResponseWriter, ok bool, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if ok {
		w.WriteHeader(http.StatusOK)
	} else {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(body)
}
