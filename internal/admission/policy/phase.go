package policy

import (
	"context"

	"github.com/kemudi/kemudi/internal/auth"
)

// MutatingPhase is the mutating admission phase as upstream orders it:
// the mutating admission policies, then the mutating webhooks (which
// reinvoke their own IfNeeded webhooks). When a change came after an
// IfNeeded policy ran (from a later policy or from a webhook), that
// policy runs a second time, as upstream's reinvocation does.
type MutatingPhase struct {
	Policies *MutatingPlugin
	Webhooks auth.MutatingAdmission // nil for none
}

var _ auth.MutatingAdmission = MutatingPhase{}

// Mutate implements auth.MutatingAdmission.
func (ph MutatingPhase) Mutate(ctx context.Context, r *auth.AdmissionRequest) error {
	rc := &reinvocation{}
	if ph.Policies != nil {
		if err := ph.Policies.mutate(ctx, r, rc, false); err != nil {
			return err
		}
	}
	if ph.Webhooks != nil {
		if err := ph.Webhooks.Mutate(ctx, r); err != nil {
			return err
		}
	}
	if ph.Policies == nil || (len(rc.previous) == 0 && len(rc.again) == 0) {
		return nil
	}
	return ph.Policies.mutate(ctx, r, rc, true)
}
