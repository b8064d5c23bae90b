package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/auth"
	"github.com/kemudi/kemudi/internal/storage"
)

func (s *Server) delete(rq *request) {
	opts, err := s.deleteOptions(rq)
	if err != nil {
		s.fail(rq, err)
		return
	}
	result, _, err := s.deleteObject(rq.ctx(), rq.ep, rq.info.Namespace, rq.info.Name, opts)
	if err != nil {
		s.fail(rq, err)
		return
	}
	if _, isStatus := result.(*metav1.Status); isStatus {
		s.write(rq.w, rq.out, http.StatusOK, result)
		return
	}
	s.writeResult(rq, http.StatusOK, result)
}

// deleteOptions reads DeleteOptions from the body and the query.
func (s *Server) deleteOptions(rq *request) (*metav1.DeleteOptions, error) {
	opts := &metav1.DeleteOptions{}
	data, err := readBody(rq.r)
	if err != nil {
		return nil, err
	}
	if len(data) > 0 {
		dec, ok := s.serializers.decoder(rq.r.Header.Get("Content-Type"), false)
		if !ok {
			return nil, unsupportedMediaType(rq.r.Header.Get("Content-Type"))
		}
		want := schema.GroupVersionKind{Group: "meta.k8s.io", Version: "v1", Kind: "DeleteOptions"}
		if _, _, err := dec.Decode(data, &want, opts); err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("decode DeleteOptions: %v", err))
		}
	}
	q := rq.r.URL.Query()
	if v := q.Get("gracePeriodSeconds"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid gracePeriodSeconds %q", v))
		}
		opts.GracePeriodSeconds = &n
	}
	if v := q.Get("propagationPolicy"); v != "" {
		p := metav1.DeletionPropagation(v)
		opts.PropagationPolicy = &p
	}
	if v := q.Get("orphanDependents"); v != "" {
		b := v == "true"
		opts.OrphanDependents = &b //nolint:staticcheck // still part of the API
	}
	if _, ok := q["dryRun"]; ok {
		opts.DryRun = q["dryRun"]
	}
	var errs field.ErrorList
	if opts.OrphanDependents != nil && opts.PropagationPolicy != nil { //nolint:staticcheck
		errs = append(errs, field.Invalid(field.NewPath("propagationPolicy"), *opts.PropagationPolicy, "orphanDependents and deletionPropagation cannot be both set"))
	}
	if p := opts.PropagationPolicy; p != nil {
		switch *p {
		case metav1.DeletePropagationOrphan, metav1.DeletePropagationBackground, metav1.DeletePropagationForeground:
		default:
			errs = append(errs, field.NotSupported(field.NewPath("propagationPolicy"), *p, []string{string(metav1.DeletePropagationForeground), string(metav1.DeletePropagationBackground), string(metav1.DeletePropagationOrphan)}))
		}
	}
	for i, v := range opts.DryRun {
		if v != metav1.DryRunAll {
			errs = append(errs, field.NotSupported(field.NewPath("dryRun").Index(i), v, []string{metav1.DryRunAll}))
		}
	}
	if len(errs) > 0 {
		return nil, apierrors.NewInvalid(schema.GroupKind{Group: "meta.k8s.io", Kind: "DeleteOptions"}, "", errs)
	}
	return opts, nil
}

// deleteObject deletes as upstream's generic store does: an object held by
// finalizers, by a grace period or by its kind's own rules is marked with a
// deletionTimestamp and returned; otherwise it is removed and a Status
// returned. deleted tells which.
func (s *Server) deleteObject(ctx context.Context, ep *endpoint, namespace, name string, opts *metav1.DeleteOptions) (runtime.Object, bool, error) {
	return s.deleteAdmitted(ctx, ep, namespace, name, opts, true)
}

// deleteAdmitted is deleteObject, with the delete's admission only when
// admit is true: an eviction's delete of its pod was admitted as the
// eviction, and upstream does not admit it again.
func (s *Server) deleteAdmitted(ctx context.Context, ep *endpoint, namespace, name string, opts *metav1.DeleteOptions, admit bool) (runtime.Object, bool, error) {
	key := ep.key(namespace, name)
	gr := ep.groupResource()
	precond := &storage.Preconditions{}
	if p := opts.Preconditions; p != nil {
		precond.UID, precond.ResourceVersion = p.UID, p.ResourceVersion
	}
	dry := len(opts.DryRun) > 0
	current, err := s.store.Get(ctx, key, "")
	if err != nil {
		return nil, false, statusFor(err, gr, name)
	}
	if err := s.checkPreconditions(ep, name, precond, current); err != nil {
		return nil, false, err
	}
	if d := ep.Deletion; d != nil && d.Check != nil {
		if err := d.Check(current); err != nil {
			return nil, false, err
		}
	}
	if admit {
		if _, err := s.mutate(ctx, auth.Delete, ep, "", nil, s.versioned(ctx, ep, current), opts); err != nil {
			return nil, false, err
		}
		if err := s.admit(ctx, auth.Delete, ep, "", nil, s.versioned(ctx, ep, current), opts); err != nil {
			return nil, false, err
		}
	}

	grace := int64(0)
	if d := ep.Deletion; d != nil && d.GracePeriod != nil {
		grace = d.GracePeriod(current, opts.GracePeriodSeconds)
	}
	m, _ := meta.Accessor(current)
	finalizers, finalizersChanged := gcFinalizers(ep, m.GetFinalizers(), opts)
	holds := len(finalizers) > 0 || grace > 0 || (ep.Deletion != nil && ep.Deletion.Pending != nil && ep.Deletion.Pending(current))
	if !holds && !finalizersChanged {
		return s.removeObject(ctx, ep, key, name, precond, dry, current)
	}

	mark := func(obj runtime.Object) (runtime.Object, error) {
		if err := s.checkPreconditions(ep, name, precond, obj); err != nil {
			return nil, err
		}
		m, _ := meta.Accessor(obj)
		finalizers, _ := gcFinalizers(ep, m.GetFinalizers(), opts)
		m.SetFinalizers(finalizers)
		now := time.Now()
		if ts := m.GetDeletionTimestamp(); ts == nil {
			t := metav1.NewTime(now.Add(time.Duration(grace) * time.Second))
			m.SetDeletionTimestamp(&t)
			m.SetDeletionGracePeriodSeconds(&grace)
			if ep.Deletion != nil && ep.Deletion.Begin != nil {
				ep.Deletion.Begin(obj)
			}
		} else if old := m.GetDeletionGracePeriodSeconds(); old != nil && grace < *old {
			// A shorter grace period may replace a longer one.
			t := metav1.NewTime(now.Add(time.Duration(grace) * time.Second))
			if t.Before(ts) {
				m.SetDeletionTimestamp(&t)
			}
			m.SetDeletionGracePeriodSeconds(&grace)
		}
		return obj, nil
	}
	if dry {
		out, err := mark(current.DeepCopyObject())
		if err != nil {
			return nil, false, err
		}
		return s.versioned(ctx, ep, out), false, nil
	}
	updated, err := s.store.Update(ctx, key, nil, mark)
	if err != nil {
		return nil, false, statusFor(err, gr, name)
	}
	if held(ep, updated) {
		return s.versioned(ctx, ep, updated), false, nil
	}
	um, _ := meta.Accessor(updated)
	rv := um.GetResourceVersion()
	return s.removeObject(ctx, ep, key, name, &storage.Preconditions{ResourceVersion: &rv}, false, updated)
}

func (s *Server) removeObject(ctx context.Context, ep *endpoint, key, name string, precond *storage.Preconditions, dry bool, current runtime.Object) (runtime.Object, bool, error) {
	deleted := current
	if !dry {
		var err error
		if deleted, err = s.store.Delete(ctx, key, precond, nil); err != nil {
			return nil, false, statusFor(err, ep.groupResource(), name)
		}
		if ep.alloc != nil {
			ep.alloc.released(deleted)
		}
	}
	if ep.ReturnDeletedObject {
		return s.versioned(ctx, ep, deleted), true, nil
	}
	dm, _ := meta.Accessor(deleted)
	return statusSuccess(ep, name, string(dm.GetUID())), true, nil
}

func (s *Server) checkPreconditions(ep *endpoint, name string, p *storage.Preconditions, obj runtime.Object) error {
	m, _ := meta.Accessor(obj)
	if p.UID != nil && *p.UID != m.GetUID() {
		return apierrors.NewConflict(ep.groupResource(), name, fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", *p.UID, m.GetUID()))
	}
	if p.ResourceVersion != nil && *p.ResourceVersion != m.GetResourceVersion() {
		return apierrors.NewConflict(ep.groupResource(), name, fmt.Errorf("Precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v", *p.ResourceVersion, m.GetResourceVersion()))
	}
	return nil
}

// held reports whether an object being deleted must stay: finalizers, a
// grace period not yet over, or its kind's own reasons.
func held(ep *endpoint, obj runtime.Object) bool {
	m, _ := meta.Accessor(obj)
	if len(m.GetFinalizers()) > 0 {
		return true
	}
	if g := m.GetDeletionGracePeriodSeconds(); g != nil && *g > 0 {
		return true
	}
	return ep.Deletion != nil && ep.Deletion.Pending != nil && ep.Deletion.Pending(obj)
}

// gcFinalizers applies the propagation policy to the finalizers: orphan
// and foregroundDeletion are what the garbage collector acts on.
func gcFinalizers(ep *endpoint, current []string, opts *metav1.DeleteOptions) ([]string, bool) {
	orphan, foreground := false, false
	explicit := false
	if ep.OrphanByDefault && opts.OrphanDependents == nil && opts.PropagationPolicy == nil && //nolint:staticcheck
		!contains(current, metav1.FinalizerOrphanDependents) && !contains(current, metav1.FinalizerDeleteDependents) {
		orphan, explicit = true, true
	}
	if o := opts.OrphanDependents; o != nil { //nolint:staticcheck
		orphan, explicit = *o, true
	}
	if p := opts.PropagationPolicy; p != nil {
		explicit = true
		orphan = *p == metav1.DeletePropagationOrphan
		foreground = *p == metav1.DeletePropagationForeground
	}
	if !explicit {
		return current, false
	}
	var out []string
	for _, f := range current {
		if f != metav1.FinalizerOrphanDependents && f != metav1.FinalizerDeleteDependents {
			out = append(out, f)
		}
	}
	if orphan {
		out = append(out, metav1.FinalizerOrphanDependents)
	}
	if foreground {
		out = append(out, metav1.FinalizerDeleteDependents)
	}
	return out, !sameSet(out, current)
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, x := range a {
		seen[x]++
	}
	for _, x := range b {
		if seen[x] == 0 {
			return false
		}
		seen[x]--
	}
	return true
}

func (s *Server) deleteCollection(rq *request) {
	opts, err := s.deleteOptions(rq)
	if err != nil {
		s.fail(rq, err)
		return
	}
	pred, err := s.predicate(rq)
	if err != nil {
		s.fail(rq, err)
		return
	}
	res, err := s.store.List(rq.ctx(), rq.ep.listPrefix(rq.info.Namespace), storage.ListOptions{Predicate: pred})
	if err != nil {
		s.fail(rq, err)
		return
	}
	for _, obj := range res.Items {
		m, _ := meta.Accessor(obj)
		if _, _, err := s.deleteObject(rq.ctx(), rq.ep, m.GetNamespace(), m.GetName(), opts); err != nil && !apierrors.IsNotFound(err) {
			s.fail(rq, err)
			return
		}
	}
	st := &metav1.Status{Status: metav1.StatusSuccess}
	st.Kind, st.APIVersion = "Status", "v1"
	s.write(rq.w, rq.out, http.StatusOK, st)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
