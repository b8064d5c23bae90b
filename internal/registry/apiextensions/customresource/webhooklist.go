package customresource

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// convertList converts a list's items (stored in from) to to with one
// review holding those not in to already, checking each answer as
// upstream does for a list; its messages name the list's kind.
func (c *webhookConverter) convertList(ctx context.Context, objs []runtime.Object, from, to schema.GroupVersion) ([]runtime.Object, error) {
	out := make([]runtime.Object, len(objs))
	var send []*unstructured.Unstructured
	var at []int
	listGVK := from.WithKind("")
	for i, o := range objs {
		u, ok := o.(*unstructured.Unstructured)
		if !ok {
			return nil, fmt.Errorf("custom object is %T, not Unstructured", o)
		}
		out[i] = u
		listGVK.Kind = u.GetKind() + "List"
		if u.GetAPIVersion() == to.String() {
			continue
		}
		if isEmptyObject(u) {
			e := u.DeepCopy()
			e.SetAPIVersion(to.String())
			out[i] = e
			continue
		}
		send, at = append(send, u), append(at, i)
	}
	if len(send) == 0 {
		return out, nil
	}
	if c.clientErr != nil {
		return nil, fmt.Errorf("conversion webhook for %v failed: %v", listGVK, c.clientErr)
	}
	if c.review == "" {
		return nil, errors.New("no supported conversion review versions")
	}
	converted, err := c.call(ctx, send, to)
	if err != nil {
		return nil, fmt.Errorf("conversion webhook for %v failed: %v", listGVK, err)
	}
	if len(converted) != len(send) {
		return nil, fmt.Errorf("conversion webhook for %v returned %d objects, expected %d", listGVK, len(converted), len(send))
	}
	for j, raw := range converted {
		r := checkListItem(send[j], raw, to)
		if r.err != nil {
			return nil, fmt.Errorf("conversion webhook for %v returned invalid %s at index %v: %v", listGVK, r.what, j, r.err)
		}
		out[at[j]] = r.obj
	}
	return out, nil
}

// itemResult is one list item's check: the converted object, or what
// was wrong with it ("converted object", "metadata in object").
type itemResult struct {
	obj  *unstructured.Unstructured
	what string
	err  error
}

func checkListItem(in *unstructured.Unstructured, raw runtime.RawExtension, to schema.GroupVersion) *itemResult {
	bad := func(what string, err error) *itemResult { return &itemResult{what: what, err: err} }
	out := &unstructured.Unstructured{}
	if err := out.UnmarshalJSON(raw.Raw); err != nil {
		return bad("converted object", err)
	}
	if got := out.GroupVersionKind().GroupVersion(); got != to {
		return bad("converted object", fmt.Errorf("invalid groupVersion (expected %v, received %v)", to, got))
	}
	if out.GetKind() != in.GetKind() {
		return bad("converted object", fmt.Errorf("invalid kind (expected %v, received %v)", in.GetKind(), out.GetKind()))
	}
	if err := sameIdentity(in, out); err != nil {
		return bad("converted object", err)
	}
	if err := restoreMetadata(in, out); err != nil {
		return bad("metadata in object", err)
	}
	return &itemResult{obj: out}
}
