package apiserver

import (
	"fmt"
	"mime"
	"net/http"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var scaleGVK = schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}

// serveStatus serves /status: get, update, patch; only status changes.
func (s *Server) serveStatus(rq *request) {
	if !rq.ep.HasStatus {
		s.writeError(rq.w, rq.out, notFoundPath(rq.r.URL.Path))
		return
	}
	switch rq.info.Verb {
	case "get":
		s.get(rq)
	case "update":
		dry, err := dryRun(rq.r)
		if err != nil {
			s.fail(rq, err)
			return
		}
		manager, err := managerName(rq.r)
		if err != nil {
			s.fail(rq, err)
			return
		}
		obj, warnings, err := s.decodeBody(rq, rq.ep.gvk, rq.ep.New())
		if err != nil {
			s.fail(rq, err)
			return
		}
		if err := s.checkNameAndNamespace(rq, obj); err != nil {
			s.fail(rq, err)
			return
		}
		result, _, err := s.updateObject(rq.ctx(), rq.ep, rq.info.Namespace, rq.info.Name, updateSpec{
			compute: func(runtime.Object) (runtime.Object, error) { return obj.DeepCopyObject(), nil },
			status:  true, subresource: rq.info.Subresource, dryRun: dry, manager: manager,
		})
		if err != nil {
			s.fail(rq, err)
			return
		}
		warn(rq.w, warnings)
		s.writeResult(rq, http.StatusOK, result)
	case "patch":
		s.patchSubresource(rq, rq.info.Subresource)
	default:
		s.writeError(rq.w, rq.out, methodNotSupported(rq.ep.groupResource(), rq.r.Method))
	}
}

// serveScale serves /scale as an autoscaling/v1 Scale.
func (s *Server) serveScale(rq *request) {
	sc := rq.ep.Scale
	if sc == nil {
		s.writeError(rq.w, rq.out, notFoundPath(rq.r.URL.Path))
		return
	}
	ctx := rq.ctx()
	switch rq.info.Verb {
	case "get":
		obj, err := s.store.Get(ctx, rq.ep.key(rq.info.Namespace, rq.info.Name), rq.r.URL.Query().Get("resourceVersion"))
		if err != nil {
			s.fail(rq, err)
			return
		}
		s.write(rq.w, rq.out, http.StatusOK, s.scaleOf(rq.ep, obj))
	case "update", "patch":
		dry, err := dryRun(rq.r)
		if err != nil {
			s.fail(rq, err)
			return
		}
		var body []byte
		var want *autoscalingv1.Scale
		if rq.info.Verb == "update" {
			obj, _, err := s.decodeBody(rq, scaleGVK, &autoscalingv1.Scale{})
			if err != nil {
				s.fail(rq, err)
				return
			}
			want = obj.(*autoscalingv1.Scale)
		} else if body, err = readBody(rq.r); err != nil {
			s.fail(rq, err)
			return
		}
		compute := func(current runtime.Object) (runtime.Object, error) {
			target := want
			if target == nil {
				if target, err = s.patchScale(rq, body, s.scaleOf(rq.ep, current)); err != nil {
					return nil, err
				}
			}
			if errs := validateScale(target); len(errs) > 0 {
				return nil, apierrors.NewInvalid(scaleGVK.GroupKind(), rq.info.Name, errs)
			}
			m, _ := meta.Accessor(current)
			if rv := target.ResourceVersion; rv != "" && rv != m.GetResourceVersion() {
				return nil, conflictModified(rq.ep.groupResource(), rq.info.Name)
			}
			sc.Set(current, target.Spec.Replicas)
			return current, nil
		}
		manager, err := managerName(rq.r)
		if err != nil {
			s.fail(rq, err)
			return
		}
		result, _, err := s.updateObject(ctx, rq.ep, rq.info.Namespace, rq.info.Name, updateSpec{compute: compute, dryRun: dry, manager: manager})
		if err != nil {
			s.fail(rq, err)
			return
		}
		s.write(rq.w, rq.out, http.StatusOK, s.scaleOf(rq.ep, result))
	default:
		s.writeError(rq.w, rq.out, methodNotSupported(rq.ep.groupResource(), rq.r.Method))
	}
}

func (s *Server) scaleOf(ep *endpoint, obj runtime.Object) *autoscalingv1.Scale {
	if ep.DefaultOnRead != nil {
		// A replicas default added to the CRD since obj was stored.
		obj = ep.DefaultOnRead(obj)
	}
	m, _ := meta.Accessor(obj)
	spec, status, selector := ep.Scale.Get(obj)
	sc := &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{
			Name: m.GetName(), Namespace: m.GetNamespace(), UID: m.GetUID(),
			ResourceVersion: m.GetResourceVersion(), CreationTimestamp: m.GetCreationTimestamp(),
		},
		Spec:   autoscalingv1.ScaleSpec{Replicas: spec},
		Status: autoscalingv1.ScaleStatus{Replicas: status, Selector: selector},
	}
	sc.APIVersion, sc.Kind = "autoscaling/v1", "Scale"
	return sc
}

func (s *Server) patchScale(rq *request, patch []byte, current *autoscalingv1.Scale) (*autoscalingv1.Scale, error) {
	ct, _, _ := mime.ParseMediaType(rq.r.Header.Get("Content-Type"))
	switch types.PatchType(ct) {
	case types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType:
	default:
		return nil, unsupportedMediaType(ct)
	}
	obj, _, err := s.applyPatch(nil, types.PatchType(ct), patch, current, &autoscalingv1.Scale{}, scaleGVK, metav1.FieldValidationIgnore)
	if err != nil {
		return nil, err
	}
	sc, ok := obj.(*autoscalingv1.Scale)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("patched object is not a Scale: %T", obj))
	}
	return sc, nil
}

func validateScale(sc *autoscalingv1.Scale) field.ErrorList {
	if sc.Spec.Replicas < 0 {
		return field.ErrorList{field.Invalid(field.NewPath("spec", "replicas"), sc.Spec.Replicas, "must be greater than or equal to 0")}
	}
	return nil
}
