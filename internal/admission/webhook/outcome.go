package webhook

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kemudi/kemudi/internal/auth"
)

// callFailed applies failurePolicy to a webhook that gave no usable
// answer: Ignore lets the write go on (noted in the audit log, as
// upstream), Fail refuses it with an internal error.
func (p *Plugin) callFailed(ctx context.Context, h *hook, err error, phase string, round, index int) error {
	if ctx.Err() != nil {
		// The request itself is over (its deadline passed, its client
		// left): as upstream, no policy lets it go on.
		return apierrors.NewTimeoutError("request did not complete within requested timeout", 0)
	}
	if !h.failOpen() {
		p.cfg.Log.Warn("webhook failed, failing closed", "webhook", h.name(), "err", err)
		return apierrors.NewInternalError(err)
	}
	p.cfg.Log.Warn("webhook failed, failing open", "webhook", h.name(), "err", err)
	auth.Annotate(ctx, fmt.Sprintf("failed-open.%s.webhook.admission.k8s.io/round_%d_index_%d", phase, round, index), h.name())
	return nil
}

// notes passes a webhook's warnings to the client and its audit
// annotations (prefixed with its name) to the audit log.
func (p *Plugin) notes(ctx context.Context, h *hook, warnings []string, annotations map[string]string) {
	for _, w := range warnings {
		auth.Warn(ctx, w)
	}
	for k, v := range annotations {
		auth.Annotate(ctx, h.name()+"/"+k, v)
	}
}

// annotateMutation records, as upstream, which mutating webhook ran and
// whether it changed the object.
func annotateMutation(ctx context.Context, h *hook, round, index int, mutated bool) {
	v, _ := json.Marshal(map[string]any{"configuration": h.config, "webhook": h.name(), "mutated": mutated})
	auth.Annotate(ctx, fmt.Sprintf("mutation.webhook.admission.k8s.io/round_%d_index_%d", round, index), string(v))
}
