package webhook

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/kemudi/kemudi/internal/auth"
)

// Admit runs the validating webhooks that select r, in parallel; the first
// refusal (in the configurations' order) refuses the write.
func (p *Plugin) Admit(ctx context.Context, r *auth.AdmissionRequest) error {
	hooks := p.snap.Load().validating
	if len(hooks) == 0 {
		return nil
	}
	nsCache := map[string]labels.Set{}
	var call []*hook
	for _, h := range hooks {
		ok, err := p.shouldCall(ctx, h, r, nsCache)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if r.DryRun && !sideEffectsOK(h) {
			return dryRunUnsupported(h.name())
		}
		call = append(call, h)
	}
	if len(call) == 0 {
		return nil
	}
	e, err := encode(r, r.Object)
	if err != nil {
		return err
	}
	errs := make([]error, len(call))
	var wg sync.WaitGroup
	for i, h := range call {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = p.validate(ctx, h, r, e, i)
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
// write's fate.
func (p *Plugin) validate(ctx context.Context, h *hook, r *auth.AdmissionRequest, e encoded, index int) error {
	resp, err := p.call(ctx, h, r, e)
	if err != nil {
		return p.callFailed(ctx, h, err, "validation", 0, index)
	}
	p.notes(ctx, h, resp.Warnings, resp.AuditAnnotations)
	if !resp.Allowed {
		return denied(h.name(), resp.Result)
	}
	return nil
}
