package admission

import (
	"context"
	"fmt"
	"slices"

	"github.com/kemudi/kemudi/internal/auth"
)

// Plugin is one admission plugin under its upstream name. A plugin may
// mutate, validate or both (LimitRanger defaults in the one phase and
// checks in the other).
type Plugin struct {
	Name string
	// Mutating runs in the mutating phase, nil when the plugin does not
	// mutate; Validating in the validating phase.
	Mutating   auth.MutatingAdmission
	Validating auth.Admission
	// OwnWrites is true for a plugin that also judges the API server's
	// own writes (a request without a user): the built-in plugins, which
	// hold for every object stored. The others see users' requests only.
	OwnWrites bool
}

// Chain runs plugins in upstream's recommended order: every mutating one,
// then (after the object is validated) every validating one. The first
// refusal ends a phase. It is an auth.MutatingAdmission and an
// auth.Admission, the two phases the API server calls.
type Chain struct {
	plugins []Plugin
}

var (
	_ auth.MutatingAdmission = (*Chain)(nil)
	_ auth.Admission         = (*Chain)(nil)
)

// NewChain orders plugins as RecommendedOrder does; a name upstream does
// not know, or given twice, is an error.
func NewChain(plugins ...Plugin) (*Chain, error) {
	order := RecommendedOrder()
	seen := map[string]bool{}
	for _, p := range plugins {
		if indexIn(order, p.Name) < 0 {
			return nil, fmt.Errorf("admission plugin %q is unknown", p.Name)
		}
		if seen[p.Name] {
			return nil, fmt.Errorf("admission plugin %q given twice", p.Name)
		}
		seen[p.Name] = true
	}
	c := &Chain{plugins: slices.Clone(plugins)}
	slices.SortStableFunc(c.plugins, func(a, b Plugin) int {
		return indexIn(order, a.Name) - indexIn(order, b.Name)
	})
	return c, nil
}

// Names are the chain's plugins, in the order they run.
func (c *Chain) Names() []string {
	names := make([]string, len(c.plugins))
	for i, p := range c.plugins {
		names[i] = p.Name
	}
	return names
}

// Mutate runs the mutating phase. A plugin may change r.Object or
// replace it; the caller reads r.Object back.
func (c *Chain) Mutate(ctx context.Context, r *auth.AdmissionRequest) error {
	for _, p := range c.plugins {
		if p.Mutating == nil || !p.judges(r) {
			continue
		}
		if err := p.Mutating.Mutate(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// Admit runs the validating phase.
func (c *Chain) Admit(ctx context.Context, r *auth.AdmissionRequest) error {
	for _, p := range c.plugins {
		if p.Validating == nil || !p.judges(r) {
			continue
		}
		if err := p.Validating.Admit(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

func (p Plugin) judges(r *auth.AdmissionRequest) bool {
	return r.User != nil || p.OwnWrites
}
