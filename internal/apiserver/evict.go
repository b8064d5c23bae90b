package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/registry/core/pod"
	"github.com/kemudi/kemudi/internal/storage"
)

// maxDisruptedPods is upstream's bound on evictions a budget may hold
// that its controller has not confirmed yet.
const maxDisruptedPods = 2000

// evict serves pods/<name>/eviction: a delete guarded by the pod's
// disruption budget, as upstream's eviction REST does.
func (s *Server) evict(rq *request) {
	ctx := rq.ctx()
	obj, _, err := s.decodeBody(rq, policyv1.SchemeGroupVersion.WithKind("Eviction"), &policyv1.Eviction{})
	if err != nil {
		s.fail(rq, err)
		return
	}
	eviction := obj.(*policyv1.Eviction)
	current, err := s.store.Get(ctx, rq.ep.key(rq.info.Namespace, rq.info.Name), "")
	if err != nil {
		s.fail(rq, err)
		return
	}
	p := current.(*corev1.Pod)
	if err := pod.ValidateEviction(p, eviction); err != nil {
		s.fail(rq, err)
		return
	}
	opts := eviction.DeleteOptions
	if opts == nil {
		opts = &metav1.DeleteOptions{}
	}
	if dry, err := dryRun(rq.r); err != nil {
		s.fail(rq, err)
		return
	} else if dry {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	if err := s.checkBudget(ctx, p, opts); err != nil {
		s.fail(rq, err)
		return
	}
	if len(opts.DryRun) == 0 {
		// The pod says why it goes before it goes.
		_, _, err := s.updateObject(ctx, rq.ep, p.Namespace, p.Name, updateSpec{
			compute: func(cur runtime.Object) (runtime.Object, error) {
				pod.MarkDisruptionTarget(cur.(*corev1.Pod))
				return cur, nil
			},
			raw: true,
		})
		if err != nil && !apierrors.IsNotFound(err) {
			s.fail(rq, err)
			return
		}
	}
	if _, _, err := s.deleteObject(ctx, rq.ep, p.Namespace, p.Name, opts); err != nil {
		s.fail(rq, err)
		return
	}
	st := &metav1.Status{Status: metav1.StatusSuccess, Code: http.StatusCreated}
	st.Kind, st.APIVersion = "Status", "v1"
	s.write(rq.w, rq.out, http.StatusCreated, st)
}

// checkBudget decides whether the pod may go now, taking one disruption
// from its budget when it must.
func (s *Server) checkBudget(ctx context.Context, p *corev1.Pod, opts *metav1.DeleteOptions) error {
	if pod.CanIgnoreDisruptionBudget(p) {
		return nil
	}
	pdbs, err := s.budgetsFor(ctx, p)
	if err != nil {
		return err
	}
	switch len(pdbs) {
	case 0:
		return nil
	case 1:
	default:
		return apierrors.NewInternalError(errors.New("This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."))
	}
	pdb := pdbs[0]
	if !podReady(p) {
		healthy := pdb.Status.DesiredHealthy > 0 && pdb.Status.CurrentHealthy >= pdb.Status.DesiredHealthy
		if healthy || (pdb.Spec.UnhealthyPodEvictionPolicy != nil && *pdb.Spec.UnhealthyPodEvictionPolicy == policyv1.AlwaysAllow) {
			// An unready pod does not count against a healthy budget; make
			// sure it is still the pod that was judged.
			rv := p.ResourceVersion
			if opts.Preconditions == nil {
				opts.Preconditions = &metav1.Preconditions{}
			}
			if opts.Preconditions.ResourceVersion == nil {
				opts.Preconditions.ResourceVersion = &rv
			}
			return nil
		}
	}
	ep := s.endpoints[endpointKey("policy", "v1", "poddisruptionbudgets")]
	if ep == nil {
		return nil
	}
	if len(opts.DryRun) > 0 {
		_, err := decrementBudget(pdb.DeepCopy(), p.Name)
		return err
	}
	_, _, err = s.updateObject(ctx, ep, pdb.Namespace, pdb.Name, updateSpec{
		compute: func(cur runtime.Object) (runtime.Object, error) {
			return decrementBudget(cur.(*policyv1.PodDisruptionBudget), p.Name)
		},
		raw: true,
	})
	return err
}

func decrementBudget(pdb *policyv1.PodDisruptionBudget, podName string) (runtime.Object, error) {
	if pdb.Status.ObservedGeneration < pdb.Generation {
		return nil, tooManyRequests(fmt.Sprintf("The disruption budget %s is still being processed by the server.", pdb.Name))
	}
	if pdb.Status.DisruptionsAllowed < 0 {
		return nil, apierrors.NewForbidden(policyv1.Resource("poddisruptionbudget"), pdb.Name, errors.New("pdb disruptions allowed is negative"))
	}
	if len(pdb.Status.DisruptedPods) > maxDisruptedPods {
		return nil, apierrors.NewForbidden(policyv1.Resource("poddisruptionbudget"), pdb.Name, errors.New("DisruptedPods map too big - too many evictions not confirmed by PDB controller"))
	}
	if pdb.Status.DisruptionsAllowed == 0 {
		return nil, tooManyRequests(fmt.Sprintf("The disruption budget %s needs %d healthy pods and has %d currently", pdb.Name, pdb.Status.DesiredHealthy, pdb.Status.CurrentHealthy))
	}
	pdb.Status.DisruptionsAllowed--
	if pdb.Status.DisruptedPods == nil {
		pdb.Status.DisruptedPods = map[string]metav1.Time{}
	}
	pdb.Status.DisruptedPods[podName] = metav1.NewTime(time.Now())
	return pdb, nil
}

// tooManyRequests is upstream's 429 for an eviction its budget forbids.
func tooManyRequests(cause string) error {
	err := apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 0)
	err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{Type: policyv1.DisruptionBudgetCause, Message: cause})
	return err
}

// budgetsFor lists the disruption budgets whose selector matches the pod.
func (s *Server) budgetsFor(ctx context.Context, p *corev1.Pod) ([]*policyv1.PodDisruptionBudget, error) {
	res, err := s.store.List(ctx, storage.Prefix+"poddisruptionbudgets/"+p.Namespace+"/", storage.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []*policyv1.PodDisruptionBudget
	for _, obj := range res.Items {
		pdb := obj.(*policyv1.PodDisruptionBudget)
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || sel.Empty() {
			continue
		}
		if sel.Matches(labels.Set(p.Labels)) {
			out = append(out, pdb)
		}
	}
	return out, nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
