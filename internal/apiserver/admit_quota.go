package apiserver

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/quota"
	"github.com/kemudi/kemudi/internal/storage"
)

// admitQuota is upstream's ResourceQuota admission for a create: the new
// object must fit in every quota of its namespace that covers it, checked
// against the quotas' status; the quotas' status.used is then charged
// with a compare-and-swap, so that concurrent creates cannot overrun a
// quota together. The resourcequota controller recomputes the true usage
// (deletions, and charges for creates that failed after admission).
func (s *Server) admitQuota(ctx context.Context, ep *endpoint, obj runtime.Object, dry bool) error {
	if !ep.Namespaced {
		return nil
	}
	qep, ok := s.endpoints[endpointKey("", "v1", "resourcequotas")]
	if !ok {
		return nil
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	res, err := s.store.List(ctx, qep.listPrefix(m.GetNamespace()), storage.ListOptions{ResourceVersion: "0"})
	if err != nil || len(res.Items) == 0 {
		return err
	}
	gr := ep.groupResource()
	usage := quota.Usage(gr, obj, time.Now())
	forbidden := func(err error) error {
		return apierrors.NewForbidden(gr, m.GetName(), err)
	}
	var charge []*corev1.ResourceQuota
	for _, item := range res.Items {
		q, ok := item.(*corev1.ResourceQuota)
		if !ok {
			continue
		}
		used, err := quota.Admit(q, gr, obj, usage)
		if err != nil {
			return forbidden(err)
		}
		if used != nil {
			charge = append(charge, q)
		}
	}
	if dry {
		return nil
	}
	for _, q := range charge {
		var refused error
		_, err := s.store.Update(ctx, qep.key(q.Namespace, q.Name), nil, func(current runtime.Object) (runtime.Object, error) {
			// The store tries again on etcd's state after a refusal of a
			// cached one: only the last try's refusal counts.
			refused = nil
			cur, ok := current.(*corev1.ResourceQuota)
			if !ok {
				return current, nil
			}
			used, err := quota.Admit(cur, gr, obj, usage)
			if err != nil {
				refused = err
				return nil, err
			}
			if used == nil {
				return current, nil
			}
			// current is the store's copy, ours to change.
			cur.Status.Used = used
			return cur, nil
		})
		if refused != nil {
			return forbidden(refused)
		}
		if err != nil && !storage.HasCode(err, storage.CodeNotFound) && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return nil
}
