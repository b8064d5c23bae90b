package apiserver

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

var metaV1 = schema.GroupVersion{Group: "meta.k8s.io", Version: "v1"}

// write encodes obj as the client asked and sends it with code.
func (s *Server) write(w http.ResponseWriter, out output, code int, obj runtime.Object) {
	var buf bytes.Buffer
	if err := out.encoder(s.serializers).Encode(obj, &buf); err != nil {
		s.log.Error("encode response", "err", err)
		s.writeError(w, output{mediaType: mediaJSON}, apierrors.NewInternalError(err))
		return
	}
	h := w.Header()
	if out.contentType != "" {
		h.Set("Content-Type", out.contentType)
	} else {
		h.Set("Content-Type", out.mediaType)
	}
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// writeError sends err as a metav1.Status.
func (s *Server) writeError(w http.ResponseWriter, out output, err error) {
	if rec, ok := w.(*statusRecorder); ok && deadlinePassed(rec.deadline) {
		err = timedOut(rec.deadline)
	}
	se := statusFor(err, schema.GroupResource{}, "")
	status := se.ErrStatus
	status.Kind, status.APIVersion = "Status", "v1"
	if status.Code == 0 {
		status.Code = http.StatusInternalServerError
	}
	if status.Code >= 500 && status.Code != http.StatusGatewayTimeout && status.Code != http.StatusServiceUnavailable {
		s.log.Error("internal error", "err", err)
	}
	if out.mediaType == "" || out.as != "" || out.discovery {
		out = output{mediaType: mediaJSON}
	}
	if rec, ok := w.(*statusRecorder); ok && rec.audit != nil {
		rec.audit.status = &metav1.Status{Status: status.Status, Message: status.Message, Reason: status.Reason, Details: status.Details, Code: status.Code}
	}
	s.write(w, out, int(status.Code), &status)
}

// writeResult sends one object, transformed as the Accept header asked
// (Table, PartialObjectMetadata).
func (s *Server) writeResult(rq *request, code int, obj runtime.Object) {
	switch rq.out.as {
	case "Table":
		table, err := s.table(rq, []runtime.Object{obj}, nil, false)
		if err != nil {
			s.writeError(rq.w, rq.out, err)
			return
		}
		s.write(rq.w, rq.out, code, table)
		return
	case "PartialObjectMetadata":
		s.write(rq.w, rq.out, code, partialMetadata(obj, rq.out.asVersion))
		return
	case "PartialObjectMetadataList":
		s.writeError(rq.w, rq.out, notAcceptable())
		return
	}
	obj, err := s.versionedOrError(rq.ctx(), rq.ep, obj)
	if err != nil {
		s.writeError(rq.w, rq.out, err)
		return
	}
	s.write(rq.w, rq.out, code, obj)
}

// writeList sends a list page, transformed as the Accept header asked.
func (s *Server) writeList(rq *request, items []runtime.Object, listMeta metav1.ListMeta) {
	switch rq.out.as {
	case "Table":
		table, err := s.table(rq, items, &listMeta, false)
		if err != nil {
			s.writeError(rq.w, rq.out, err)
			return
		}
		s.write(rq.w, rq.out, http.StatusOK, table)
		return
	case "PartialObjectMetadataList":
		list := &metav1.PartialObjectMetadataList{ListMeta: listMeta}
		list.APIVersion, list.Kind = metaGV(rq.out.asVersion), "PartialObjectMetadataList"
		for _, it := range items {
			list.Items = append(list.Items, *partialMetadata(it, rq.out.asVersion))
		}
		s.write(rq.w, rq.out, http.StatusOK, list)
		return
	case "PartialObjectMetadata":
		s.writeError(rq.w, rq.out, notAcceptable())
		return
	}
	list := rq.ep.NewList()
	versioned, err := s.versionedAll(rq.ctx(), rq.ep, items)
	if err != nil {
		s.writeError(rq.w, rq.out, err)
		return
	}
	if err := meta.SetList(list, versioned); err != nil {
		s.writeError(rq.w, rq.out, err)
		return
	}
	lm, _ := meta.ListAccessor(list)
	lm.SetResourceVersion(listMeta.ResourceVersion)
	lm.SetContinue(listMeta.Continue)
	lm.SetRemainingItemCount(listMeta.RemainingItemCount)
	list.GetObjectKind().SetGroupVersionKind(rq.ep.listGVK)
	s.write(rq.w, rq.out, http.StatusOK, list)
}

// versioned returns obj as the endpoint serves it: defaulted as it is read
// (custom objects), a view converted from its storage kind; every object
// carries apiVersion and kind. A conversion that fails leaves obj as
// stored; what a client is sent goes through versionedOrError. ctx is
// the request's: a CRD's conversion webhook is called with it.
func (s *Server) versioned(ctx context.Context, ep *endpoint, obj runtime.Object) runtime.Object {
	out, _ := s.versionedOrError(ctx, ep, obj)
	return out
}

// versionedOrError is versioned, failing with a 500 when the conversion
// fails (a CRD's conversion webhook did, say), as upstream does.
func (s *Server) versionedOrError(ctx context.Context, ep *endpoint, obj runtime.Object) (runtime.Object, error) {
	once := servedOnceFrom(ctx)
	if once.has(obj) {
		return obj, nil
	}
	if ep.DefaultOnRead != nil {
		obj = ep.DefaultOnRead(obj)
	}
	if ep.Convert != nil {
		// A built-in view's converter refuses an object converted already
		// (responses pass here twice): only a custom resource's failure
		// counts. Not relabelled: a later versioned tries it again.
		converted, err := ep.Convert.FromStorage(ctx, obj)
		switch {
		case err == nil:
			obj = converted
		case ep.custom != nil:
			return obj, conversionFailed(ctx, err)
		}
	}
	obj = labelled(ep, obj)
	once.add(obj)
	return obj, nil
}

// conversionFailed is how a client hears that a custom object's
// conversion (its webhook) failed: upstream's 500, unless the request
// itself ended (the client went away, or its deadline passed), which is
// not the server's failure.
func conversionFailed(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return statusFor(cerr, schema.GroupResource{}, "")
	}
	return apierrors.NewInternalError(err)
}

// labelled is obj with the endpoint's apiVersion and kind, decorated.
func labelled(ep *endpoint, obj runtime.Object) runtime.Object {
	if obj.GetObjectKind().GroupVersionKind() != ep.gvk || ep.Decorate != nil {
		obj = obj.DeepCopyObject()
		obj.GetObjectKind().SetGroupVersionKind(ep.gvk)
		if ep.Decorate != nil {
			ep.Decorate(obj)
		}
	}
	return obj
}

func (s *Server) versionedAll(ctx context.Context, ep *endpoint, objs []runtime.Object) ([]runtime.Object, error) {
	if ep.Convert == nil && ep.Decorate == nil && ep.DefaultOnRead == nil {
		return objs, nil
	}
	once := servedOnceFrom(ctx)
	if ep.Convert != nil && ep.Convert.FromStorageAll != nil && len(objs) > 1 {
		// One conversion for the list (one webhook call), of the items
		// not served already.
		pre := make([]runtime.Object, 0, len(objs))
		at := make([]int, 0, len(objs)) // where each of pre came from
		for i, o := range objs {
			if once.has(o) {
				continue
			}
			if ep.DefaultOnRead != nil {
				o = ep.DefaultOnRead(o)
			}
			pre, at = append(pre, o), append(at, i)
		}
		out := slices.Clone(objs)
		if len(pre) == 0 {
			return out, nil
		}
		converted, err := ep.Convert.FromStorageAll(ctx, pre)
		if err != nil {
			return nil, conversionFailed(ctx, err)
		}
		for j, i := range at {
			// Converted: not defaulted again, now in the served version.
			out[i] = labelled(ep, converted[j])
			once.add(out[i])
		}
		return out, nil
	}
	out := make([]runtime.Object, len(objs))
	for i, o := range objs {
		var err error
		if out[i], err = s.versionedOrError(ctx, ep, o); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func metaGV(version string) string {
	if version == "" {
		version = "v1"
	}
	return "meta.k8s.io/" + version
}

func partialMetadata(obj runtime.Object, version string) *metav1.PartialObjectMetadata {
	p := &metav1.PartialObjectMetadata{}
	p.APIVersion, p.Kind = metaGV(version), "PartialObjectMetadata"
	// Typed objects give their ObjectMeta through ObjectMetaAccessor;
	// custom objects (Unstructured) through their accessors.
	if om, ok := objectMetaOf(obj); ok {
		p.ObjectMeta = om
	}
	return p
}

// statusSuccess is the body of a delete that removed the object at once.
func statusSuccess(ep *endpoint, name string, uid string) *metav1.Status {
	st := &metav1.Status{
		Status: metav1.StatusSuccess,
		Details: &metav1.StatusDetails{
			Name: name, Group: ep.GroupVersion.Group, Kind: ep.Resource.Resource,
		},
	}
	if uid != "" {
		st.Details.UID = types.UID(uid)
	}
	st.Kind, st.APIVersion = "Status", "v1"
	return st
}

func badRequest(format string, args ...interface{}) error {
	return apierrors.NewBadRequest(fmt.Sprintf(format, args...))
}
