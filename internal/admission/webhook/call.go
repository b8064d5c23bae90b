package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"

	"github.com/kemudi/kemudi/internal/auth"
)

// maxResponseBytes bounds what a webhook may answer (upstream reads up to
// 3 MiB of a request body; an answer carries at most a patch of it).
const maxResponseBytes = 8 << 20

var reviewGVK = admissionv1.SchemeGroupVersion.WithKind("AdmissionReview")

// encoded is a request's objects as JSON, made once per object state.
type encoded struct {
	object, old, options []byte
}

// encode turns the request's objects into JSON carrying apiVersion and
// kind (typed objects in the server may not).
func encode(r *auth.AdmissionRequest, obj runtime.Object) (encoded, error) {
	var e encoded
	var err error
	if e.object, err = encodeObject(obj, r.Kind.GroupVersion().String(), r.Kind.Kind); err != nil {
		return e, err
	}
	if e.old, err = encodeObject(r.Old, r.Kind.GroupVersion().String(), r.Kind.Kind); err != nil {
		return e, err
	}
	if r.Options != nil {
		kind := ""
		switch r.Options.(type) {
		case *metav1.CreateOptions:
			kind = "CreateOptions"
		case *metav1.UpdateOptions:
			kind = "UpdateOptions"
		case *metav1.DeleteOptions:
			kind = "DeleteOptions"
		}
		if e.options, err = encodeObject(r.Options, "meta.k8s.io/v1", kind); err != nil {
			return e, err
		}
	}
	return e, nil
}

// encodeObject encodes obj as JSON with apiVersion and kind: an object
// that does not carry them gets them spliced in front of its other
// fields (where its TypeMeta's would be), rather than being copied to
// set them.
func encodeObject(obj runtime.Object, apiVersion, kind string) ([]byte, error) {
	if obj == nil {
		return nil, nil
	}
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encode %s for admission: %w", kind, err)
	}
	if !obj.GetObjectKind().GroupVersionKind().Empty() || kind == "" || len(data) < 2 || data[0] != '{' {
		return data, nil
	}
	out := make([]byte, 0, len(data)+len(kind)+len(apiVersion)+32)
	out = appendString(append(out, `{"kind":`...), kind)
	out = appendString(append(out, `,"apiVersion":`...), apiVersion)
	if len(data) > 2 { // not {}
		out = append(out, ',')
	}
	return append(out, data[1:]...), nil
}

// callError is a failure to get an answer from a webhook: failurePolicy
// decides whether it refuses the write (upstream's ErrCallingWebhook).
type callError struct {
	webhook string
	reason  error
}

func (e *callError) Error() string {
	return fmt.Sprintf("failed calling webhook %q: %v", e.webhook, e.reason)
}

func (e *callError) Unwrap() error { return e.reason }

// call sends one AdmissionReview of seen (the request r in the version h
// matched) and returns the webhook's verified response. Errors are
// *callError.
func (p *Plugin) call(ctx context.Context, h *hook, seen, r *auth.AdmissionRequest, e encoded) (*admissionv1.AdmissionResponse, error) {
	if h.clientErr != nil {
		return nil, &callError{h.name(), fmt.Errorf("failed to call webhook: %w", h.clientErr)}
	}
	timeout := time.Duration(*h.spec.TimeoutSeconds) * time.Second
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	uid := uuid.NewUUID()
	body, err := appendReview(make([]byte, 0, len(e.object)+len(e.old)+len(e.options)+1024), seen, r, uid, e)
	if err != nil {
		return nil, &callError{h.name(), fmt.Errorf("failed to call webhook: %w", err)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		return nil, &callError{h.name(), fmt.Errorf("failed to call webhook: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, &callError{h.name(), fmt.Errorf("failed to call webhook: %w", err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, &callError{h.name(), fmt.Errorf("failed to call webhook: read response: %w", err)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &callError{h.name(), fmt.Errorf("failed to call webhook: the server responded with the status code %d but did not return more information", resp.StatusCode)}
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, &callError{h.name(), fmt.Errorf("failed to call webhook: decode AdmissionReview: %w", err)}
	}
	if err := verify(&out, uid, h.mutating); err != nil {
		return nil, &callError{h.name(), fmt.Errorf("received invalid webhook response: %w", err)}
	}
	return out.Response, nil
}

// verify checks a response as upstream does, with its messages.
func verify(r *admissionv1.AdmissionReview, uid types.UID, mutating bool) error {
	if r.Response == nil {
		return errors.New("webhook response was absent")
	}
	if r.Response.UID != uid {
		return fmt.Errorf("expected response.uid=%q, got %q", uid, r.Response.UID)
	}
	if gvk := r.GroupVersionKind(); gvk != reviewGVK {
		return fmt.Errorf("expected webhook response of %v, got %v", reviewGVK.String(), gvk.String())
	}
	patchType := ""
	if r.Response.PatchType != nil {
		patchType = string(*r.Response.PatchType)
	}
	switch {
	case mutating && len(r.Response.Patch) > 0 && patchType == "":
		return errors.New("webhook returned response.patch but not response.patchType")
	case mutating && len(r.Response.Patch) == 0 && patchType != "":
		return errors.New("webhook returned response.patchType but not response.patch")
	case !mutating && len(r.Response.Patch) > 0:
		return errors.New("validating webhook may not return response.patch")
	case !mutating && patchType != "":
		return errors.New("validating webhook may not return response.patchType")
	case patchType != "" && patchType != string(admissionv1.PatchTypeJSONPatch):
		return fmt.Errorf("unsupported patch type %q", patchType)
	}
	return nil
}
