package customresource

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/webhookclient"
)

// webhookTimeout bounds one conversion call, as upstream's (30 s); the
// request's own context ends it sooner when the client goes away or the
// request's deadline passes.
const webhookTimeout = 30 * time.Second

// maxReviewBytes bounds a webhook's answer.
const maxReviewBytes = 64 << 20

// Webhooks calls CRDs' conversion webhooks; its clients (and their
// kept-alive connections) are shared by every CRD with the same client
// configuration.
type Webhooks struct {
	clients *webhookclient.Cache
}

// NewWebhooks returns the conversion webhooks' caller; services resolves
// webhooks given as a service reference.
func NewWebhooks(services webhookclient.Resolver) *Webhooks {
	return &Webhooks{clients: webhookclient.NewCache(services)}
}

// webhookConverter converts custom objects of one CRD by calling its
// conversion webhook with a ConversionReview.
type webhookConverter struct {
	client    *webhookclient.Client
	clientErr error
	// review is the ConversionReview version sent: the first of the
	// CRD's conversionReviewVersions kemudi speaks, empty if none.
	review string
}

// webhookConversion converts between a served version and the storage
// version through the CRD's webhook, upstream's Webhook strategy, then
// prunes what the target version's schema does not know.
func (w *Webhooks) webhookConversion(crd *apiextensionsv1.CustomResourceDefinition, served, storage schema.GroupVersion, servedSchema lazySchema) *registry.Convert {
	c := w.converter(crd)
	storageSchema := newLazySchema(crd, storage.Version)
	conv := func(ctx context.Context, obj runtime.Object, to schema.GroupVersion, target lazySchema) (runtime.Object, error) {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return nil, fmt.Errorf("custom object is %T, not Unstructured", obj)
		}
		if u.GetAPIVersion() == to.String() {
			return u, nil
		}
		ctx, cancel := context.WithTimeout(ctx, webhookTimeout)
		defer cancel()
		out, err := c.convert(ctx, u, to)
		if err != nil {
			return nil, err
		}
		if s, err := target(); err == nil {
			if err := s.PruneStored(out.Object); err != nil {
				return nil, fmt.Errorf("prune %s: %w", to, err)
			}
		}
		return out, nil
	}
	return &registry.Convert{
		ToStorage: func(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
			return conv(ctx, obj, storage, storageSchema)
		},
		FromStorage: func(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
			return conv(ctx, obj, served, servedSchema)
		},
		FromStorageAll: func(ctx context.Context, objs []runtime.Object) ([]runtime.Object, error) {
			ctx, cancel := context.WithTimeout(ctx, webhookTimeout)
			defer cancel()
			out, err := c.convertList(ctx, objs, storage, served)
			if err != nil {
				return nil, err
			}
			if s, err := servedSchema(); err == nil {
				for _, o := range out {
					if err := s.PruneStored(o.(*unstructured.Unstructured).Object); err != nil {
						return nil, fmt.Errorf("prune %s: %w", served, err)
					}
				}
			}
			return out, nil
		},
	}
}

func (w *Webhooks) converter(crd *apiextensionsv1.CustomResourceDefinition) *webhookConverter {
	c := &webhookConverter{}
	conv := crd.Spec.Conversion
	if conv.Webhook == nil || conv.Webhook.ClientConfig == nil {
		c.clientErr = errors.New("spec.conversion.webhook.clientConfig is not set")
		return c
	}
	for _, v := range conv.Webhook.ConversionReviewVersions {
		if v == "v1" || v == "v1beta1" {
			c.review = v
			break
		}
	}
	c.client, c.clientErr = w.clients.Get(clientConfig(*conv.Webhook.ClientConfig))
	return c
}

// clientConfig is a conversion webhook's client configuration as the
// shared webhook client takes it.
func clientConfig(cc apiextensionsv1.WebhookClientConfig) webhookclient.Config {
	out := webhookclient.Config{URL: cc.URL, CABundle: cc.CABundle}
	if s := cc.Service; s != nil {
		out.Service = &webhookclient.Service{Namespace: s.Namespace, Name: s.Name, Path: s.Path, Port: s.Port}
	}
	return out
}

// convert sends in to the webhook and checks what comes back as
// upstream does. Errors carry upstream's messages.
func (c *webhookConverter) convert(ctx context.Context, in *unstructured.Unstructured, to schema.GroupVersion) (*unstructured.Unstructured, error) {
	gvk := in.GroupVersionKind()
	if isEmptyObject(in) {
		out := in.DeepCopy()
		out.SetAPIVersion(to.String())
		return out, nil
	}
	if c.clientErr != nil {
		return nil, fmt.Errorf("conversion webhook for %v failed: %v", gvk, c.clientErr)
	}
	if c.review == "" {
		return nil, errors.New("no supported conversion review versions")
	}
	converted, err := c.call(ctx, []*unstructured.Unstructured{in}, to)
	if err != nil {
		return nil, fmt.Errorf("conversion webhook for %v failed: %v", gvk, err)
	}
	if len(converted) != 1 {
		return nil, fmt.Errorf("conversion webhook for %v returned %d objects, expected 1", gvk, len(converted))
	}
	out := &unstructured.Unstructured{}
	if err := out.UnmarshalJSON(converted[0].Raw); err != nil {
		return nil, fmt.Errorf("conversion webhook for %v returned invalid converted object at index 0: %v", gvk, err)
	}
	if got := out.GroupVersionKind().GroupVersion(); got != to {
		return nil, fmt.Errorf("conversion webhook for %v returned invalid object at index 0: invalid groupVersion (expected %v, received %v)", gvk, to, got)
	}
	if out.GetKind() != in.GetKind() {
		return nil, fmt.Errorf("conversion webhook for %v returned invalid object at index 0: invalid kind (expected %v, received %v)", gvk, in.GetKind(), out.GetKind())
	}
	if err := sameIdentity(in, out); err != nil {
		return nil, fmt.Errorf("conversion webhook for %v returned invalid object: %v", gvk, err)
	}
	if err := restoreMetadata(in, out); err != nil {
		return nil, fmt.Errorf("conversion webhook for %v returned invalid metadata: %v", gvk, err)
	}
	return out, nil
}

// call posts a ConversionReview of objs and returns the converted
// objects of a successful answer.
func (c *webhookConverter) call(ctx context.Context, objs []*unstructured.Unstructured, to schema.GroupVersion) ([]runtime.RawExtension, error) {
	raws := make([]runtime.RawExtension, len(objs))
	for i, o := range objs {
		raw, err := o.MarshalJSON()
		if err != nil {
			return nil, err
		}
		raws[i].Raw = raw
	}
	uid := uuid.NewUUID()
	reviewAPI := apiextensionsv1.SchemeGroupVersion.Group + "/" + c.review
	// v1beta1's ConversionReview has v1's shape; only apiVersion differs.
	review := apiextensionsv1.ConversionReview{Request: &apiextensionsv1.ConversionRequest{
		UID: uid, DesiredAPIVersion: to.String(), Objects: raws,
	}}
	review.APIVersion, review.Kind = reviewAPI, "ConversionReview"
	body, err := json.Marshal(review)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.client.URL()+"?timeout="+webhookTimeout.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxReviewBytes))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("the server responded with the status code %d: %s", resp.StatusCode, truncate(data))
	}
	return reviewResult(data, reviewAPI, uid)
}

// reviewResult checks a webhook's ConversionReview as upstream does.
func reviewResult(data []byte, reviewAPI string, uid types.UID) ([]runtime.RawExtension, error) {
	var got apiextensionsv1.ConversionReview
	if err := json.Unmarshal(data, &got); err != nil {
		return nil, fmt.Errorf("decode ConversionReview: %v", err)
	}
	if got.APIVersion != reviewAPI || got.Kind != "ConversionReview" {
		return nil, fmt.Errorf("expected webhook response of %s, Kind=ConversionReview, got %s, Kind=%s", reviewAPI, got.APIVersion, got.Kind)
	}
	r := got.Response
	if r == nil {
		return nil, errors.New("no response provided")
	}
	if r.UID != uid {
		return nil, fmt.Errorf("expected response.uid=%q, got %q", uid, r.UID)
	}
	if r.Result.Status != "Success" {
		if r.Result.Message != "" {
			return nil, errors.New(r.Result.Message)
		}
		return nil, fmt.Errorf("response.result.status was '%s', not 'Success'", r.Result.Status)
	}
	return r.ConvertedObjects, nil
}

func truncate(b []byte) string {
	if len(b) > 256 {
		return string(b[:256]) + "..."
	}
	return string(b)
}

// isEmptyObject reports an object with nothing but apiVersion and kind,
// which upstream converts without the webhook.
func isEmptyObject(u *unstructured.Unstructured) bool {
	for k := range u.Object {
		if k != "apiVersion" && k != "kind" {
			return false
		}
	}
	return true
}

// Keep drops the clients of webhooks no CRD in crds names any more,
// closing their idle connections.
func (w *Webhooks) Keep(crds []*apiextensionsv1.CustomResourceDefinition) {
	var used []*webhookclient.Client
	for _, crd := range crds {
		conv := crd.Spec.Conversion
		if conv == nil || conv.Strategy != apiextensionsv1.WebhookConverter || conv.Webhook == nil || conv.Webhook.ClientConfig == nil {
			continue
		}
		if cl, err := w.clients.Get(clientConfig(*conv.Webhook.ClientConfig)); err == nil {
			used = append(used, cl)
		}
	}
	w.clients.Keep(used)
}
