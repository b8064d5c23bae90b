package policy

import (
	"context"
	"errors"
	"fmt"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// params returns the params to evaluate a binding with, as upstream's
// CollectParams: [nil] when the policy or the binding has none, the
// named object or those the selector picks, and an error when none is
// found and parameterNotFoundAction is Deny. An empty result (none found,
// Allow) skips the binding.
func (ev *evaluation) params(ctx context.Context, cp *compiledPolicy, ref *admissionregistrationv1.ParamRef) ([]runtime.Object, error) {
	if cp.paramKind == nil || ref == nil {
		return []runtime.Object{nil}, nil
	}
	src := ev.p.cfg.Params
	kind := cp.policy.Spec.ParamKind
	if src == nil {
		return nil, fmt.Errorf("paramKind kind `%v` not known", kind.String())
	}
	namespaced, ok := src.Scope(*cp.paramKind)
	if !ok {
		return nil, fmt.Errorf("paramKind kind `%v` not known", kind.String())
	}
	ns := ""
	if namespaced {
		ns = ref.Namespace
		if ns == "" {
			ns = ev.r.Namespace
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
		obj, err := src.Get(ctx, *cp.paramKind, ns, ref.Name)
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
		if found, err = src.List(ctx, *cp.paramKind, ns, sel); err != nil {
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
		u, err := toUnstructured(obj, *cp.paramKind)
		if err != nil {
			return nil, err
		}
		out = append(out, &paramObject{u: u})
	}
	return out, nil
}
