package apiserver

import (
	"fmt"
	"net/http"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/storage"
)

func (s *Server) get(rq *request) {
	obj, err := s.store.Get(rq.ctx(), rq.ep.key(rq.info.Namespace, rq.info.Name), rq.r.URL.Query().Get("resourceVersion"))
	if err != nil {
		s.fail(rq, err)
		return
	}
	s.writeResult(rq, http.StatusOK, obj)
}

func (s *Server) list(rq *request) {
	q := rq.r.URL.Query()
	pred, err := s.predicate(rq)
	if err != nil {
		s.fail(rq, err)
		return
	}
	var limit int64
	if v := q.Get("limit"); v != "" {
		// A limit of zero or less is no limit, as upstream.
		if limit, err = strconv.ParseInt(v, 10, 64); err != nil {
			s.fail(rq, apierrors.NewBadRequest(fmt.Sprintf("invalid limit %q", v)))
			return
		}
	}
	res, err := s.store.List(rq.ctx(), rq.ep.listPrefix(rq.info.Namespace), storage.ListOptions{
		ResourceVersion:      q.Get("resourceVersion"),
		ResourceVersionMatch: metav1.ResourceVersionMatch(q.Get("resourceVersionMatch")),
		Limit:                limit,
		Continue:             q.Get("continue"),
		Predicate:            pred,
	})
	if err != nil {
		s.fail(rq, err)
		return
	}
	s.writeList(rq, res.Items, metav1.ListMeta{
		ResourceVersion:    strconv.FormatInt(res.Rev, 10),
		Continue:           res.Continue,
		RemainingItemCount: res.Remaining,
	})
}

// predicate builds the label and field selector filter of a list or watch.
func (s *Server) predicate(rq *request) (storage.Predicate, error) {
	q := rq.r.URL.Query()
	ls, err := labels.Parse(q.Get("labelSelector"))
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	fs, err := fields.ParseSelector(q.Get("fieldSelector"))
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid field selector: %v", err))
	}
	ep := rq.ep
	supported := fields.Set{"metadata.name": "", "metadata.namespace": ""}
	if ep.SelectableFields != nil {
		for k := range ep.SelectableFields(ep.New()) {
			supported[k] = ""
		}
	}
	for _, r := range fs.Requirements() {
		if _, ok := supported[r.Field]; !ok {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s", r.Field))
		}
	}
	if ls.Empty() && fs.Empty() {
		return nil, nil
	}
	return func(obj runtime.Object) bool {
		if ep.DefaultOnRead != nil {
			obj = ep.DefaultOnRead(obj)
		}
		if ep.Convert != nil {
			converted, err := ep.Convert.FromStorage(rq.ctx(), obj)
			if err != nil {
				return false
			}
			obj = converted
		}
		m, err := meta.Accessor(obj)
		if err != nil {
			return false
		}
		if !ls.Matches(labels.Set(m.GetLabels())) {
			return false
		}
		if fs.Empty() {
			return true
		}
		// SelectableFields returns a map of its own: add to it rather than
		// copy it (this runs for every watcher of every event).
		var set fields.Set
		if ep.SelectableFields != nil {
			set = ep.SelectableFields(obj)
		}
		if set == nil {
			set = make(fields.Set, 2)
		}
		set["metadata.name"] = m.GetName()
		if ep.Namespaced {
			set["metadata.namespace"] = m.GetNamespace()
		}
		return fs.Matches(set)
	}, nil
}
