package apiserver

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// viewsOf returns the endpoints now served over the objects ep serves:
// ep itself and every other version of them (a CRD's served versions,
// autoscaling/v1 and v2 horizontal pod autoscalers, core and
// events.k8s.io events), which share its etcd prefix.
func (s *Server) viewsOf(ep *endpoint) []*endpoint {
	var out []*endpoint
	for _, e := range s.api.Load().endpoints {
		if e.prefix == ep.prefix && !e.review {
			out = append(out, e)
		}
	}
	return out
}

// viewConverter converts the objects of one stored resource between the
// versions it is served in, through what is stored: a version's
// Convert.ToStorage, then the target's Convert.FromStorage. The field
// manager converts with it when an object's managers applied or updated
// it in other versions than the request's, as upstream converts through
// the internal version.
type viewConverter struct {
	scheme *runtime.Scheme
	// ep is the endpoint whose field manager converts; its version is
	// the manager's hub.
	ep    *endpoint
	views map[schema.GroupVersion]*endpoint
	kinds []schema.GroupVersionKind
	// ctx is the request's, for a webhook's conversions; nil for a
	// converter shared by requests, whose conversions call no webhook.
	ctx context.Context
}

func newViewConverter(scheme *runtime.Scheme, ep *endpoint, views []*endpoint) *viewConverter {
	c := &viewConverter{scheme: scheme, ep: ep, views: map[schema.GroupVersion]*endpoint{ep.GroupVersion: ep}, kinds: []schema.GroupVersionKind{ep.gvk}}
	for _, v := range views {
		if _, dup := c.views[v.GroupVersion]; !dup {
			c.views[v.GroupVersion] = v
			c.kinds = append(c.kinds, v.gvk)
		}
	}
	return c
}

// ConvertToVersion returns in in the target version: in itself when it
// is in that version already (the field manager only reads what it gets
// back, or changes a new object it made), else a new object. Built-in
// kinds come back typed, custom objects Unstructured.
func (c *viewConverter) ConvertToVersion(in runtime.Object, target runtime.GroupVersioner) (runtime.Object, error) {
	from, err := c.kindOf(in)
	if err != nil {
		return nil, err
	}
	to, ok := target.KindForGroupVersionKinds(append([]schema.GroupVersionKind{from}, c.kinds...))
	if !ok {
		return nil, runtime.NewNotRegisteredErrForKind("kemudi", from)
	}
	src, ok := c.views[from.GroupVersion()]
	if !ok {
		return nil, runtime.NewNotRegisteredErrForKind("kemudi", from)
	}
	if to.GroupVersion() == from.GroupVersion() {
		// A built-in kind's object is typed as the scheme would give it:
		// its defaulting and the handlers take the Go type.
		return c.typed(in, src, from)
	}
	dst, ok := c.views[to.GroupVersion()]
	if !ok {
		// The field manager's hub for an object of another group is that
		// group at the hub's version; where no such version is served,
		// the object goes on as it is, to be converted once, directly.
		if to.Group == from.Group && to.Group != c.ep.GroupVersion.Group && to.Version == c.ep.GroupVersion.Version {
			return in, nil
		}
		return c.unserved(in, src, to)
	}
	obj, err := c.typed(in, src, from)
	if err != nil {
		return nil, err
	}
	ctx := c.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	if src.Convert != nil {
		if obj, err = src.Convert.ToStorage(ctx, obj); err != nil {
			return nil, fmt.Errorf("convert %s to storage: %w", from, err)
		}
	}
	if dst.Convert != nil {
		if obj, err = dst.Convert.FromStorage(ctx, obj); err != nil {
			return nil, fmt.Errorf("convert %s to %s: %w", from, to, err)
		}
	}
	if obj == in {
		obj = obj.DeepCopyObject()
	}
	obj.GetObjectKind().SetGroupVersionKind(dst.gvk)
	return obj, nil
}

// unserved converts a custom object to a version of its group that is
// not served (managers may have applied it when it was): custom
// objects convert by their apiVersion alone (the None strategy, the one
// kemudi has). Anything else is not registered, and the field manager
// forgets managers of that version, as upstream does for a version its
// scheme does not know.
func (c *viewConverter) unserved(in runtime.Object, src *endpoint, to schema.GroupVersionKind) (runtime.Object, error) {
	u, ok := in.(*unstructured.Unstructured)
	if src.custom == nil || !ok || to.Group != src.GroupVersion.Group {
		return nil, runtime.NewNotRegisteredErrForKind("kemudi", to)
	}
	out := u.DeepCopy()
	out.SetGroupVersionKind(to)
	return out, nil
}

// typed returns a built-in kind's object as its Go type, which its
// conversion takes; the field manager hands over Unstructured.
func (c *viewConverter) typed(in runtime.Object, src *endpoint, gvk schema.GroupVersionKind) (runtime.Object, error) {
	if in.GetObjectKind().GroupVersionKind().Empty() {
		// The field manager types objects by their apiVersion and kind.
		in = in.DeepCopyObject()
		in.GetObjectKind().SetGroupVersionKind(gvk)
	}
	u, ok := in.(*unstructured.Unstructured)
	if !ok || src.custom != nil {
		return in, nil
	}
	obj := src.New()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.UnstructuredContent(), obj); err != nil {
		return nil, fmt.Errorf("convert %s: %w", gvk, err)
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	return obj, nil
}

// kindOf is the object's group, version and kind: its own, else its Go
// type's (typed objects as conversions return them have none set).
func (c *viewConverter) kindOf(obj runtime.Object) (schema.GroupVersionKind, error) {
	if gvk := obj.GetObjectKind().GroupVersionKind(); !gvk.Empty() {
		return gvk, nil
	}
	kinds, _, err := c.scheme.ObjectKinds(obj)
	if err != nil {
		return schema.GroupVersionKind{}, err
	}
	return kinds[0], nil
}

func (c *viewConverter) Convert(in, out, context interface{}) error {
	return fmt.Errorf("convert %T to %T: not supported", in, out)
}

func (c *viewConverter) ConvertFieldLabel(_ schema.GroupVersionKind, label, value string) (string, string, error) {
	return label, value, nil
}
