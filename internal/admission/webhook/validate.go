package webhook

import (
	"context"
	"sync"

	"github.com/kemudi/kemudi/internal/auth"
)

// Admit runs the validating webhooks that select r, in parallel; the first
// refusal (in the configurations' order) refuses the write.
func (p *Plugin) Admit(ctx context.Context, r *auth.AdmissionRequest) error {
	hooks := p.snap.Load().validating
	if len(hooks) == 0 {
		return nil
	}
	views := &views{r: r}
	var call []*hook
	var seen []*auth.AdmissionRequest // as each called webhook sees r
	var enc []*encoded
	for _, h := range hooks {
		s, err := p.shouldCall(ctx, h, views)
		if err != nil {
			return err
		}
		if s == nil {
			continue
		}
		if r.DryRun && !sideEffectsOK(h) {
			return dryRunUnsupported(h.name())
		}
		e, err := views.encoded(s)
		if err != nil {
			return err
		}
		call, seen, enc = append(call, h), append(seen, s), append(enc, e)
	}
	switch len(call) {
	case 0:
		return nil
	case 1:
		// One webhook: no goroutine to hand the call to and wait on.
		return p.validate(ctx, call[0], seen[0], r, *enc[0], 0)
	}
	errs := make([]error, len(call))
	var wg sync.WaitGroup
	for i, h := range call {
		s, e := seen[i], enc[i] // not the slices: they stay on the stack
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = p.validate(ctx, h, s, r, *e, i)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// validate calls one validating webhook and turns its answer into the
// write's fate: seen is r as the webhook sees it.
func (p *Plugin) validate(ctx context.Context, h *hook, seen, r *auth.AdmissionRequest, e encoded, index int) error {
	resp, err := p.call(ctx, h, seen, r, e)
	if err != nil {
		return p.callFailed(ctx, h, err, "validation", 0, index)
	}
	p.notes(ctx, h, resp.Warnings, resp.AuditAnnotations)
	if !resp.Allowed {
		return denied(h.name(), resp.Result)
	}
	return nil
}
