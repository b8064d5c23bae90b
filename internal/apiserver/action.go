package apiserver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/auth"
	"github.com/kemudi/kemudi/internal/registry"
)

// serveAction serves a subresource that takes a body (registry.Action):
// decode, admission as a create of the subresource with the body as its
// object, then the action's Run, or its Apply in one update of the
// parent.
func (s *Server) serveAction(rq *request) {
	action, ok := rq.ep.Actions[rq.info.Subresource]
	if !ok {
		s.writeError(rq.w, rq.out, notFoundPath(rq.r.URL.Path))
		return
	}
	verb := rq.info.Verb
	if verb != "create" && (verb != "update" || action.Run != nil) {
		s.writeError(rq.w, rq.out, methodNotSupported(rq.ep.groupResource(), rq.r.Method))
		return
	}
	dry, err := dryRun(rq.r)
	if err != nil {
		s.fail(rq, err)
		return
	}
	body, err := s.decodeAction(rq, action)
	if err != nil {
		s.fail(rq, err)
		return
	}
	if verb == "create" {
		if body, err = s.admitAction(rq, body, dry); err != nil {
			s.fail(rq, err)
			return
		}
	}
	if action.Run != nil {
		s.runAction(rq, action, body, dry)
		return
	}
	s.applyAction(rq, action, body, dry)
}

// decodeAction decodes the body into the action's type, from an older
// version of it when the body is one.
func (s *Server) decodeAction(rq *request, action *registry.Action) (runtime.Object, error) {
	into := action.New()
	kinds, _, err := s.scheme.ObjectKinds(into)
	if err != nil {
		return nil, err
	}
	want := kinds[0]
	var older *registry.OlderBody
	if len(action.OlderBodies) > 0 {
		data, err := readBody(rq.r)
		if err != nil {
			return nil, err
		}
		rq.r.Body = io.NopCloser(bytes.NewReader(data))
		if dec, ok := s.serializers.decoder(rq.r.Header.Get("Content-Type"), false); ok {
			if _, gvk, _ := dec.Decode(data, nil, nil); gvk != nil {
				if o, ok := action.OlderBodies[*gvk]; ok {
					want, into, older = *gvk, o.New(), &o
				}
			}
		}
	}
	body, warnings, err := s.decodeBody(rq, want, into)
	if err != nil {
		return nil, err
	}
	warn(rq.w, warnings)
	if older != nil {
		body = older.Convert(body)
	}
	return body, nil
}

// admitAction runs admission on an action's body as upstream does: a
// create of the parent's resource and the subresource, named by the
// path, whose object is the body (an Eviction, a Binding, a
// TokenRequest) and whose kind is the body's.
func (s *Server) admitAction(rq *request, body runtime.Object, dry bool) (runtime.Object, error) {
	ctx := rq.ctx()
	r, err := admissionRequest(ctx, auth.Create, rq.ep, rq.info.Subresource, body, nil, createOptions(dry, ""))
	if err != nil {
		return nil, err
	}
	kinds, _, err := s.scheme.ObjectKinds(body)
	if err != nil {
		return nil, err
	}
	r.Kind, r.Namespace, r.Name = kinds[0], rq.info.Namespace, rq.info.Name
	if s.mutating != nil {
		if err := s.mutating.Mutate(ctx, r); err != nil {
			return nil, err
		}
		if reflect.TypeOf(r.Object) != reflect.TypeOf(body) {
			return nil, fmt.Errorf("admission turned a %T into a %T", body, r.Object)
		}
		body = r.Object
	}
	if s.admission != nil {
		if err := s.admission.Admit(ctx, r); err != nil {
			return nil, err
		}
	}
	return body, nil
}

// runAction serves an action that acts through the server (registry.Action.Run).
func (s *Server) runAction(rq *request, action *registry.Action, body runtime.Object, dry bool) {
	call := &registry.Call{Namespace: rq.info.Namespace, Name: rq.info.Name, Body: body, DryRun: dry, Store: actionStore{s}}
	if s.tokens != nil {
		call.Tokens = s.tokens
	}
	out, err := action.Run(rq.ctx(), call)
	warn(rq.w, call.Warnings)
	switch {
	case errors.Is(err, registry.ErrNotServed):
		s.writeError(rq.w, rq.out, notFoundPath(rq.r.URL.Path))
	case err != nil:
		s.fail(rq, err)
	case out != nil:
		s.write(rq.w, rq.out, http.StatusCreated, out)
	default:
		s.writeCreatedStatus(rq)
	}
}

// applyAction serves an action that changes its parent in one update
// (registry.Action.Apply).
func (s *Server) applyAction(rq *request, action *registry.Action, body runtime.Object, dry bool) {
	ctx := rq.ctx()
	result, _, err := s.updateObject(ctx, rq.ep, rq.info.Namespace, rq.info.Name, updateSpec{
		compute: func(current runtime.Object) (runtime.Object, error) {
			if err := action.Apply(ctx, current, body); err != nil {
				return nil, err
			}
			return current, nil
		},
		dryRun: dry,
		raw:    true,
	})
	if err != nil {
		s.fail(rq, err)
		return
	}
	if action.Response != nil {
		if out := action.Response(result, body); out != nil {
			s.write(rq.w, rq.out, http.StatusOK, out)
			return
		}
	}
	s.writeCreatedStatus(rq)
}

// writeCreatedStatus answers an action that has nothing to return.
func (s *Server) writeCreatedStatus(rq *request) {
	st := &metav1.Status{Status: metav1.StatusSuccess, Code: http.StatusCreated}
	st.Kind, st.APIVersion = "Status", "v1"
	s.write(rq.w, rq.out, http.StatusCreated, st)
}
