package webhook

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"

	"github.com/kemudi/kemudi/internal/auth"
	"github.com/kemudi/kemudi/internal/webhookclient"
)

// NamespaceGetter reads a namespace, for namespaceSelector.
type NamespaceGetter interface {
	GetNamespace(ctx context.Context, name string) (*corev1.Namespace, error)
}

// Config is what a Plugin reads besides its configurations.
type Config struct {
	Namespaces NamespaceGetter
	// Services resolves webhooks given as a service reference.
	Services Resolver
	// Authorizer answers the `authorizer` variable of match conditions;
	// nil makes conditions that use it fail (failurePolicy decides).
	Authorizer auth.Authorizer
	Log        *slog.Logger
}

// Plugin runs the admission webhooks: Mutate (auth.MutatingAdmission) and
// Admit (auth.Admission, the validating ones).
type Plugin struct {
	cfg  Config
	snap atomic.Pointer[snapshot]

	mu         sync.Mutex // guards what follows; requests read snap only
	mutating   map[string]*mutatingConfig
	validating map[string]*validatingConfig
	clients    *webhookclient.Cache
	compiler   *conditionCompiler
}

// New returns a Plugin with no webhooks; Feed (or Set*/Delete*) fills it.
func New(cfg Config) *Plugin {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	p := &Plugin{
		cfg:        cfg,
		mutating:   map[string]*mutatingConfig{},
		validating: map[string]*validatingConfig{},
		clients:    webhookclient.NewCache(cfg.Services),
		compiler:   newConditionCompiler(),
	}
	p.snap.Store(&snapshot{})
	return p
}

var (
	_ auth.MutatingAdmission = (*Plugin)(nil)
	_ auth.Admission         = (*Plugin)(nil)
)
