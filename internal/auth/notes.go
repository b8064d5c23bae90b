package auth

import (
	"context"
	"maps"
	"slices"
	"sync"
)

// Notes collect what a request's handlers say beside their decision:
// warnings for the client (Warning headers) and annotations for the audit
// log, as upstream's warning.AddWarning and audit.AddAuditAnnotation.
// A write may be tried more than once (a conflict retried): a warning
// said twice is kept once, and an annotation's first value wins.
type Notes struct {
	mu          sync.Mutex
	warnings    []string
	annotations map[string]string
}

type notesKey struct{}

// WithNotes returns ctx carrying n.
func WithNotes(ctx context.Context, n *Notes) context.Context {
	return context.WithValue(ctx, notesKey{}, n)
}

// NotesFrom returns the Notes WithNotes put in ctx, or nil.
func NotesFrom(ctx context.Context) *Notes {
	n, _ := ctx.Value(notesKey{}).(*Notes)
	return n
}

// Warn adds a warning for the client of the request ctx serves; without
// Notes in ctx it is dropped.
func Warn(ctx context.Context, msg string) {
	n := NotesFrom(ctx)
	if n == nil || msg == "" {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if !slices.Contains(n.warnings, msg) {
		n.warnings = append(n.warnings, msg)
	}
}

// Annotate adds an audit annotation to the request ctx serves.
func Annotate(ctx context.Context, key, value string) {
	n := NotesFrom(ctx)
	if n == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.annotations == nil {
		n.annotations = map[string]string{}
	}
	if _, ok := n.annotations[key]; !ok {
		n.annotations[key] = value
	}
}

// Warnings returns a copy of the warnings so far, in the order said.
func (n *Notes) Warnings() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.warnings)
}

// Annotations returns a copy of the annotations so far.
func (n *Notes) Annotations() map[string]string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.annotations) == 0 {
		return nil
	}
	return maps.Clone(n.annotations)
}
