package webhook

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/auth"
)

// views is one write as the webhooks see it: r in its own version, and in
// the other versions webhooks matched with matchPolicy Equivalent
// (converted once each, until r.Object changes), each with its objects
// encoded once.
type views struct {
	r      *auth.AdmissionRequest
	others map[string]*auth.AdmissionRequest
	enc    map[*auth.AdmissionRequest]*encoded
	// namespaces are the labels namespaceSelectors read, once per
	// namespace; made on first use, as a write most webhooks skip needs
	// none.
	namespaces map[string]labels.Set
}

// in is the request in version ("" for its own): objects converted, kind
// and version that version's.
func (v *views) in(ctx context.Context, version string) (*auth.AdmissionRequest, error) {
	if version == "" || version == v.r.Version {
		return v.r, nil
	}
	if seen, ok := v.others[version]; ok {
		return seen, nil
	}
	seen := *v.r
	seen.Version = version
	var err error
	if v.r.Object != nil {
		if seen.Object, seen.Kind, err = v.r.Versions.Convert(ctx, v.r.Object, v.r.Version, version); err != nil {
			return nil, convertError(err)
		}
	}
	if v.r.Old != nil {
		if seen.Old, seen.Kind, err = v.r.Versions.Convert(ctx, v.r.Old, v.r.Version, version); err != nil {
			return nil, convertError(err)
		}
	}
	if v.others == nil {
		v.others = map[string]*auth.AdmissionRequest{}
	}
	v.others[version] = &seen
	return &seen, nil
}

// encoded is seen's objects as JSON, made once per state.
func (v *views) encoded(seen *auth.AdmissionRequest) (*encoded, error) {
	if e, ok := v.enc[seen]; ok {
		return e, nil
	}
	e, err := encode(seen, seen.Object)
	if err != nil {
		return nil, err
	}
	if v.enc == nil {
		v.enc = map[*auth.AdmissionRequest]*encoded{}
	}
	v.enc[seen] = &e
	return &e, nil
}

// patched takes a webhook's patched object, in seen's version: defaulted
// there, as upstream defaults a patched object in the webhook's version,
// then back in the request's. What was converted or encoded before is
// stale after it.
func (v *views) patched(ctx context.Context, seen *auth.AdmissionRequest, obj runtime.Object, data []byte) error {
	if seen == v.r {
		v.r.Object = obj
		v.others = nil
		v.enc = map[*auth.AdmissionRequest]*encoded{v.r: {object: data, old: v.enc[v.r].old, options: v.enc[v.r].options}}
		return nil
	}
	v.r.Versions.Default(obj, seen.Version)
	back, _, err := v.r.Versions.Convert(ctx, obj, seen.Version, v.r.Version)
	if err != nil {
		return convertError(err)
	}
	v.r.Object = back
	v.others, v.enc = nil, nil
	return nil
}

func convertError(err error) error {
	return apierrors.NewInternalError(fmt.Errorf("convert the object for admission webhooks: %w", err))
}
