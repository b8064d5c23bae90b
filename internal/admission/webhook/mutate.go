package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/auth"
)

// Mutate runs the mutating webhooks that select r, one after another,
// applying each one's JSONPatch to r.Object (replaced by the patched
// object). A webhook with reinvocationPolicy IfNeeded is called once more
// when a webhook after it changed the object, as upstream does.
func (p *Plugin) Mutate(ctx context.Context, r *auth.AdmissionRequest) error {
	hooks := p.snap.Load().mutating
	if len(hooks) == 0 {
		return nil
	}
	m := &mutation{p: p, views: &views{r: r}}
	var before []*hook          // IfNeeded webhooks called since the last change
	var reinvoke map[*hook]bool // made when a change calls for a second round
	for i, h := range hooks {
		called, changed, err := m.one(ctx, h, 0, i)
		if err != nil {
			return err
		}
		if changed && len(before) > 0 {
			if reinvoke == nil {
				reinvoke = map[*hook]bool{}
			}
			for _, b := range before {
				reinvoke[b] = true
			}
			before = nil
		}
		if called && h.reinvoke {
			before = append(before, h)
		}
	}
	for i, h := range hooks {
		if !reinvoke[h] {
			continue
		}
		if _, _, err := m.one(ctx, h, 1, i); err != nil {
			return err
		}
	}
	return nil
}

// mutation is one write going through the mutating webhooks.
type mutation struct {
	p     *Plugin
	views *views // the write (views.r), as each webhook sees it
}

// one calls h if it selects the request and applies its answer.
func (m *mutation) one(ctx context.Context, h *hook, round, index int) (called, changed bool, err error) {
	seen, err := m.p.shouldCall(ctx, h, m.views)
	if err != nil || seen == nil {
		return false, false, err
	}
	if seen.DryRun && !sideEffectsOK(h) {
		return false, false, dryRunUnsupported(h.name())
	}
	enc, err := m.views.encoded(seen)
	if err != nil {
		return false, false, err
	}
	resp, err := m.p.call(ctx, h, seen, m.views.r, *enc)
	if err != nil {
		return true, false, m.p.callFailed(ctx, h, err, "mutation", round, index)
	}
	m.p.notes(ctx, h, resp.Warnings, resp.AuditAnnotations)
	if !resp.Allowed {
		return true, false, denied(h.name(), resp.Result)
	}
	changed, err = m.apply(ctx, h, seen, enc, resp.Patch)
	annotateMutation(ctx, h, round, index, changed)
	return true, changed, err
}

// apply applies a JSONPatch to the object as seen (enc); a patch that
// does not apply, or makes an object that does not decode, refuses the
// write whatever the failurePolicy (as upstream).
func (m *mutation) apply(ctx context.Context, h *hook, seen *auth.AdmissionRequest, enc *encoded, patch []byte) (bool, error) {
	if len(patch) == 0 {
		return false, nil
	}
	ops, err := jsonpatch.DecodePatch(patch)
	if err != nil {
		return false, apierrors.NewInternalError(err)
	}
	if len(ops) == 0 {
		return false, nil
	}
	if seen.Object == nil {
		return false, apierrors.NewInternalError(fmt.Errorf("admission webhook %q attempted to modify the object, which is not supported for this operation", h.name()))
	}
	patched, err := ops.Apply(enc.object)
	if err != nil {
		return false, apierrors.NewInternalError(err)
	}
	if bytes.Equal(patched, enc.object) {
		return false, nil
	}
	obj := newLike(seen.Object)
	if err := json.Unmarshal(patched, obj); err != nil {
		return false, apierrors.NewInternalError(err)
	}
	return true, m.views.patched(ctx, seen, obj, patched)
}

// newLike returns an empty object of obj's Go type.
func newLike(obj runtime.Object) runtime.Object {
	return reflect.New(reflect.TypeOf(obj).Elem()).Interface().(runtime.Object)
}
