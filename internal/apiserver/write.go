package apiserver

import (
	"context"
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/auth"
	"github.com/kemudi/kemudi/internal/storage"
)

// maxGenerateNameAttempts bounds retries when a generated name is taken.
const maxGenerateNameAttempts = 8

func (s *Server) create(rq *request) {
	if rq.info.Name != "" {
		s.writeError(rq.w, rq.out, methodNotSupported(rq.ep.groupResource(), "create"))
		return
	}
	dry, err := dryRun(rq.r)
	if err != nil {
		s.fail(rq, err)
		return
	}
	obj, warnings, err := s.decodeBody(rq, rq.ep.gvk, rq.ep.New())
	if err != nil {
		s.fail(rq, err)
		return
	}
	if err := s.checkNamespace(rq, obj); err != nil {
		s.fail(rq, err)
		return
	}
	auditObjectRef(rq.w, obj)
	manager, err := managerName(rq.r)
	if err != nil {
		s.fail(rq, err)
		return
	}
	created, err := s.createObject(rq.ctx(), rq.ep, obj, dry, manager)
	if err != nil {
		m, _ := meta.Accessor(obj)
		s.writeError(rq.w, rq.out, statusFor(err, rq.ep.groupResource(), m.GetName()))
		return
	}
	warn(rq.w, warnings)
	if rq.ep.Hooks.Warnings != nil {
		warn(rq.w, rq.ep.Hooks.Warnings(rq.ctx(), created, nil))
	}
	s.writeResult(rq, http.StatusCreated, created)
}

// checkNamespace makes the body's namespace agree with the path's.
func (s *Server) checkNamespace(rq *request, obj runtime.Object) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	if !rq.ep.Namespaced {
		m.SetNamespace("")
		return nil
	}
	switch m.GetNamespace() {
	case "":
		m.SetNamespace(rq.info.Namespace)
	case rq.info.Namespace:
	default:
		return apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	return nil
}

// createObject defaults, prepares, validates and stores a new object. It
// is the one path every create takes, the server's own included. A
// non-empty manager is recorded as the owner of every field set.
func (s *Server) createObject(ctx context.Context, ep *endpoint, obj runtime.Object, dry bool, manager string) (runtime.Object, error) {
	if ep.Hooks.Default != nil {
		ep.Hooks.Default(obj)
	}
	// The manager owns what it sent, with the defaults, not what
	// admission adds, as upstream tracks fields before admission.
	if manager != "" {
		empty := ep.New()
		empty.GetObjectKind().SetGroupVersionKind(ep.gvk)
		obj = s.track(ctx, ep, "", empty, obj, manager)
	}
	obj, err := s.mutate(ctx, auth.Create, ep, "", obj, nil, createOptions(dry, manager))
	if err != nil {
		return nil, err
	}
	if err := s.checkEscalation(ctx, ep, obj, nil); err != nil {
		return nil, err
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	generated := m.GetName() == "" && m.GetGenerateName() != ""
	for attempt := 0; ; attempt++ {
		prepareCreate(ctx, ep, obj)
		if errs := validateCreate(ctx, ep, obj); len(errs) > 0 {
			return nil, apierrors.NewInvalid(ep.gvk.GroupKind(), m.GetName(), errs)
		}
		if attempt == 0 {
			if err := s.admit(ctx, auth.Create, ep, "", obj, nil, createOptions(dry, manager)); err != nil {
				return nil, err
			}
		}
		undo, commit := func() {}, func() {}
		if ep.alloc != nil {
			if undo, commit, err = ep.alloc.allocate(ctx, obj, nil); err != nil {
				return nil, err
			}
		}
		if dry {
			undo()
			return obj, nil
		}
		stored, err := s.toStorage(ctx, ep, obj)
		if err != nil {
			undo()
			return nil, err
		}
		created, err := s.store.Create(ctx, ep.key(m.GetNamespace(), m.GetName()), stored)
		if err != nil {
			undo()
		}
		if generated && storage.HasCode(err, storage.CodeExists) && attempt < maxGenerateNameAttempts {
			m.SetName("")
			continue
		}
		if err != nil {
			return nil, statusFor(err, ep.groupResource(), m.GetName())
		}
		commit()
		return s.versioned(ctx, ep, created), nil
	}
}

// toStorage converts a view's object to what its storage holds.
func (s *Server) toStorage(ctx context.Context, ep *endpoint, obj runtime.Object) (runtime.Object, error) {
	if ep.Convert == nil {
		return obj, nil
	}
	stored, err := ep.Convert.ToStorage(ctx, obj)
	if err != nil && ep.custom != nil {
		// A CRD's conversion (its webhook) failed: upstream's 500.
		return nil, conversionFailed(ctx, err)
	}
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("convert %s: %v", ep.Kind, err))
	}
	if stored.GetObjectKind().GroupVersionKind().Empty() {
		kinds, _, err := s.scheme.ObjectKinds(stored)
		if err != nil {
			return nil, err
		}
		stored.GetObjectKind().SetGroupVersionKind(kinds[0])
	}
	return stored, nil
}

func (s *Server) update(rq *request) {
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
	if err := requireResourceVersion(rq.ep, obj); err != nil {
		s.fail(rq, err)
		return
	}
	result, created, err := s.updateObject(rq.ctx(), rq.ep, rq.info.Namespace, rq.info.Name, updateSpec{
		compute:     func(runtime.Object) (runtime.Object, error) { return obj.DeepCopyObject(), nil },
		dryRun:      dry,
		createIfNew: obj,
		manager:     manager,
		warnings:    &warnings,
	})
	if err != nil {
		s.fail(rq, err)
		return
	}
	warn(rq.w, warnings)
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	s.writeResult(rq, code, result)
}

func (s *Server) checkNameAndNamespace(rq *request, obj runtime.Object) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	if m.GetName() != rq.info.Name {
		return apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", m.GetName(), rq.info.Name))
	}
	return s.checkNamespace(rq, obj)
}

// updateSpec says how an update computes the new object.
type updateSpec struct {
	// compute returns the desired object from the current one (a copy it
	// may change). A resourceVersion on the result must match the current
	// one (optimistic concurrency); an empty one means unconditional.
	compute func(current runtime.Object) (runtime.Object, error)
	// status gives /status semantics: only status changes.
	status bool
	// subresource is the status-like subresource updated ("status",
	// "approval"); "" for the main resource.
	subresource string
	dryRun      bool
	// createIfNew is created when the object does not exist and the
	// resource allows create on update.
	createIfNew runtime.Object
	// manager owns the fields this update changes (metadata.managedFields).
	manager string
	// applied is set for server-side apply, whose compute already
	// recorded ownership.
	applied bool
	// raw skips defaulting, preparation and validation: the compute
	// function is a subresource action that owns its semantics (binding).
	raw bool
	// warnings, when set, collects the kind's warnings about the update.
	warnings *[]string
}

// requireResourceVersion refuses an unconditional update of a kind that
// does not allow one.
func requireResourceVersion(ep *endpoint, obj runtime.Object) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	if ep.RequireResourceVersion && m.GetResourceVersion() == "" {
		return apierrors.NewInvalid(ep.gvk.GroupKind(), m.GetName(), field.ErrorList{
			field.Invalid(field.NewPath("metadata", "resourceVersion"), m.GetResourceVersion(), "must be specified for an update"),
		})
	}
	return nil
}

// updateObject is the one path every update takes: compute, default,
// prepare, validate, compare-and-swap; then, if the object is being
// deleted and lost its last finalizer, delete it.
func (s *Server) updateObject(ctx context.Context, ep *endpoint, namespace, name string, u updateSpec) (runtime.Object, bool, error) {
	key := ep.key(namespace, name)
	gr := ep.groupResource()
	// What the last attempt allocated; an attempt that loses the race
	// gives it back before the next one.
	undo, commit := func() {}, func() {}
	try := func(current runtime.Object) (runtime.Object, error) {
		undo()
		undo, commit = func() {}, func() {}
		old := s.versioned(ctx, ep, current)
		desired, err := u.compute(old.DeepCopyObject())
		if err != nil {
			return nil, err
		}
		m, err := meta.Accessor(desired)
		if err != nil {
			return nil, err
		}
		om, _ := meta.Accessor(old)
		if rv := m.GetResourceVersion(); rv != "" && rv != om.GetResourceVersion() {
			return nil, conflictModified(gr, name)
		}
		m.SetResourceVersion(om.GetResourceVersion())
		if u.raw {
			return s.toStorage(ctx, ep, desired)
		}
		if u.manager != "" && !u.applied {
			sub := ""
			if u.status {
				sub = "status"
			}
			desired = s.track(ctx, ep, sub, old, desired, u.manager)
			if m, err = meta.Accessor(desired); err != nil {
				return nil, err
			}
		}
		if ep.Hooks.Default != nil {
			ep.Hooks.Default(desired)
		}
		if desired, err = s.mutate(ctx, auth.Update, ep, u.subresource, desired, old, updateOptions(u.dryRun, u.manager)); err != nil {
			return nil, err
		}
		if u.status {
			prepareStatusUpdate(ctx, ep, desired, old, u.subresource)
		} else {
			prepareUpdate(ctx, ep, desired, old)
		}
		if errs := validateUpdate(ctx, ep, desired, old, u.status, u.subresource); len(errs) > 0 {
			return nil, apierrors.NewInvalid(ep.gvk.GroupKind(), name, errs)
		}
		if err := s.admit(ctx, auth.Update, ep, u.subresource, desired, old, updateOptions(u.dryRun, u.manager)); err != nil {
			return nil, err
		}
		if err := s.checkEscalation(ctx, ep, desired, old); err != nil {
			return nil, err
		}
		if u.warnings != nil && ep.Hooks.Warnings != nil && !u.status {
			*u.warnings = append(*u.warnings, ep.Hooks.Warnings(ctx, desired, old)...)
		}
		if ep.alloc != nil && !u.status {
			if undo, commit, err = ep.alloc.allocate(ctx, desired, old); err != nil {
				undo, commit = func() {}, func() {}
				return nil, err
			}
		}
		return s.toStorage(ctx, ep, desired)
	}

	if u.dryRun {
		current, err := s.store.Get(ctx, key, "")
		if err != nil {
			return nil, false, statusFor(err, gr, name)
		}
		out, err := try(current)
		undo()
		if err != nil {
			return nil, false, err
		}
		return s.versioned(ctx, ep, out), false, nil
	}
	updated, err := s.store.Update(ctx, key, nil, try)
	if err != nil {
		undo()
	} else {
		commit()
	}
	if storage.HasCode(err, storage.CodeNotFound) && ep.AllowCreateOnUpdate && u.createIfNew != nil {
		created, err := s.createObject(ctx, ep, u.createIfNew.DeepCopyObject(), false, u.manager)
		return created, err == nil, err
	}
	if err != nil {
		return nil, false, statusFor(err, gr, name)
	}
	if m, _ := meta.Accessor(updated); m.GetDeletionTimestamp() != nil && !held(ep, updated) {
		s.finishDeletion(ctx, ep, key, updated)
	}
	return s.versioned(ctx, ep, updated), false, nil
}

// finishDeletion removes an object whose deletion waited for finalizers
// (or for its grace period to end) once nothing holds it any more.
func (s *Server) finishDeletion(ctx context.Context, ep *endpoint, key string, obj runtime.Object) {
	m, _ := meta.Accessor(obj)
	rv, uid := m.GetResourceVersion(), m.GetUID()
	deleted, err := s.store.Delete(ctx, key, &storage.Preconditions{ResourceVersion: &rv, UID: &uid}, nil)
	if err != nil && !storage.HasCode(err, storage.CodeNotFound) && !storage.HasCode(err, storage.CodeConflict) {
		s.log.Error("finish deletion", "key", key, "err", err)
	}
	if err == nil && ep.alloc != nil {
		ep.alloc.released(deleted)
	}
}
