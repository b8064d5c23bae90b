package pod

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/registry"
)

// maxDisruptedPods is upstream's bound on evictions a budget may hold
// that its controller has not confirmed yet.
const maxDisruptedPods = 2000

var budgetsGVR = policyv1.SchemeGroupVersion.WithResource("poddisruptionbudgets")

// checkBudget decides whether the running pod p may go now, taking one
// disruption from its budget when it must (only judging, in a dry run).
// unreadyGoes is true when p may go because it is unready and its
// budget does not count on it: then it may go only unchanged.
func checkBudget(ctx context.Context, store registry.Store, p *corev1.Pod, dryRun bool) (pdbName string, unreadyGoes bool, err error) {
	pdbs, err := budgetsFor(ctx, store, p)
	if err != nil {
		return "", false, err
	}
	switch len(pdbs) {
	case 0:
		return "", false, nil
	case 1:
	default:
		// Upstream answers a failure Status with code 500, no reason.
		return "", false, &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusInternalServerError,
			Message: "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."}}
	}
	pdb := pdbs[0]
	if !podReady(p) {
		if pdb.Spec.UnhealthyPodEvictionPolicy != nil && *pdb.Spec.UnhealthyPodEvictionPolicy == policyv1.AlwaysAllow {
			return pdb.Name, true, nil
		}
		if pdb.Status.DesiredHealthy > 0 && pdb.Status.CurrentHealthy >= pdb.Status.DesiredHealthy {
			return pdb.Name, true, nil
		}
	}
	if dryRun {
		_, err := decrementBudget(pdb.DeepCopy(), p.Name, time.Now())
		return pdb.Name, false, err
	}
	_, err = store.Update(ctx, budgetsGVR, pdb.Namespace, pdb.Name, func(cur runtime.Object) (runtime.Object, error) {
		return decrementBudget(cur.(*policyv1.PodDisruptionBudget), p.Name, time.Now())
	})
	return pdb.Name, false, err
}

// decrementBudget takes one disruption from pdb for podName, or says why
// it cannot.
func decrementBudget(pdb *policyv1.PodDisruptionBudget, podName string, now time.Time) (*policyv1.PodDisruptionBudget, error) {
	if pdb.Status.ObservedGeneration < pdb.Generation {
		return nil, stillProcessing(pdb.Name)
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
	if pdb.Status.DisruptionsAllowed == 0 {
		meta.SetStatusCondition(&pdb.Status.Conditions, metav1.Condition{Type: policyv1.DisruptionAllowedCondition,
			Status: metav1.ConditionFalse, Reason: policyv1.InsufficientPodsReason, ObservedGeneration: pdb.Status.ObservedGeneration})
	}
	if pdb.Status.DisruptedPods == nil {
		pdb.Status.DisruptedPods = map[string]metav1.Time{}
	}
	// The budget's controller counts the pod as gone until it sees it go
	// (or gives up waiting).
	pdb.Status.DisruptedPods[podName] = metav1.NewTime(now)
	return pdb, nil
}

// stillProcessing is the 429 of a budget whose controller has not seen
// its last change, or of a pod that changed while it was judged.
// Upstream suggests asking again in 10 seconds.
func stillProcessing(pdbName string) error {
	err := apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 10)
	err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{Type: policyv1.DisruptionBudgetCause,
		Message: fmt.Sprintf("The disruption budget %s is still being processed by the server.", pdbName)})
	return err
}

// tooManyRequests is upstream's 429 for an eviction its budget has no
// disruption for.
func tooManyRequests(cause string) error {
	err := apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 0)
	err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{Type: policyv1.DisruptionBudgetCause, Message: cause})
	return err
}

// budgetsFor lists the disruption budgets whose selector matches the pod.
func budgetsFor(ctx context.Context, store registry.Store, p *corev1.Pod) ([]*policyv1.PodDisruptionBudget, error) {
	objs, err := store.List(ctx, budgetsGVR, p.Namespace)
	if errors.Is(err, registry.ErrNotServed) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*policyv1.PodDisruptionBudget
	for _, obj := range objs {
		pdb := obj.(*policyv1.PodDisruptionBudget)
		// A bad selector matches nothing; an empty one (policy/v1) every pod.
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil {
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
