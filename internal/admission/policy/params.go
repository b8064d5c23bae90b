package policy

import (
	"context"
	"errors"
	"fmt"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// params returns the params to evaluate a binding with, as upstream's
// CollectParams: [nil] when the policy or the binding has none, the
// named object or those the selector picks, and an error when none is
// found and parameterNotFoundAction is Deny. An empty result (none found,
// Allow) skips the binding.
func (ev *evaluation) params(ctx context.Context, cp *compiledPolicy, ref *admissionregistrationv1.ParamRef) ([]runtime.Object, error) {
	return collectParams(ctx, ev.cfg.Params, cp.policy.Spec.ParamKind, cp.paramKind, ref, ev.r.Namespace)
}

// collectParams finds the params of a binding's ref, for a policy whose
// paramKind is kind (gvk parsed from it; both nil without one), for a
// request in namespace reqNamespace.
func collectParams(ctx context.Context, src Params, kind *admissionregistrationv1.ParamKind, gvk *schema.GroupVersionKind, ref *admissionregistrationv1.ParamRef, reqNamespace string) ([]runtime.Object, error) {
	if gvk == nil || ref == nil {
		return []runtime.Object{nil}, nil
	}
	if src == nil {
		return nil, fmt.Errorf("paramKind kind `%v` not known", kind.String())
	}
	namespaced, ok := src.Scope(*gvk)
	if !ok {
		return nil, fmt.Errorf("paramKind kind `%v` not known", kind.String())
	}
	ns := ""
	if namespaced {
		ns = ref.Namespace
		if ns == "" {
			ns = reqNamespace
		}
		if ns == "" {
			return nil, errors.New("cannot use namespaced paramRef in policy binding that matches cluster-scoped resources")
		}
	} else if ref.Namespace != "" {
		return nil, errors.New("paramRef.namespace must not be provided for a cluster-scoped `paramKind`")
	}
	var found []runtime.Object
	switch {
	case ref.Name != "":
		obj, err := src.Get(ctx, *gvk, ns, ref.Name)
		switch {
		case err == nil:
			found = []runtime.Object{obj}
		case apierrors.IsNotFound(err):
		default:
			return nil, err
		}
	case ref.Selector != nil:
		sel, err := metav1.LabelSelectorAsSelector(ref.Selector)
		if err != nil {
			return nil, err
		}
		if found, err = src.List(ctx, *gvk, ns, sel); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("one of name or selector must be provided")
	}
	if len(found) == 0 && ref.ParameterNotFoundAction != nil && *ref.ParameterNotFoundAction == admissionregistrationv1.DenyAction {
		return nil, errors.New("no params found for policy binding with `Deny` parameterNotFoundAction")
	}
	out := make([]runtime.Object, 0, len(found))
	for _, obj := range found {
		u, err := toUnstructured(obj, *gvk)
		if err != nil {
			return nil, err
		}
		out = append(out, &paramObject{u: u})
	}
	return out, nil
}
