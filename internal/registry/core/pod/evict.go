package pod

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	policyv1beta1 "k8s.io/api/policy/v1beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"

	"github.com/kemudi/kemudi/internal/registry"
)

var (
	podsGVR = corev1.SchemeGroupVersion.WithResource("pods")
	// podGR names the pod in a failed precondition, as upstream does.
	podGR = schema.GroupResource{Resource: "Pod"}
)

// evictionsRetry is upstream's: how often an eviction tries again when
// the pod changed under it.
var evictionsRetry = wait.Backoff{Steps: 20, Duration: 500 * time.Millisecond, Factor: 1.0, Jitter: 0.1}

// evictionAction is pods/<name>/eviction: a delete guarded by the pod's
// disruption budget, as upstream's eviction REST. It takes policy/v1
// Evictions and, as upstream still does, policy/v1beta1 ones.
func evictionAction() *registry.Action {
	return &registry.Action{
		New: func() runtime.Object { return &policyv1.Eviction{} },
		OlderBodies: map[schema.GroupVersionKind]registry.OlderBody{
			policyv1beta1.SchemeGroupVersion.WithKind("Eviction"): {
				New:     func() runtime.Object { return &policyv1beta1.Eviction{} },
				Convert: func(obj runtime.Object) runtime.Object { return evictionFromV1beta1(obj.(*policyv1beta1.Eviction)) },
			},
		},
		Run: func(ctx context.Context, call *registry.Call) (runtime.Object, error) {
			return nil, Evict(ctx, call.Store, call.Namespace, call.Name, call.Body.(*policyv1.Eviction), call.DryRun)
		},
	}
}

// Evict evicts the pod name (the request path's) as upstream's eviction
// REST does: a pod that has finished, has not started or is already
// going is deleted at once; any other takes a disruption from its budget
// (429 when the budget has none to give), or, unready, goes when its
// budget is healthy without it. The pod is marked a DisruptionTarget,
// then deleted with the eviction's delete options. dryRun (the
// request's) changes nothing.
func Evict(ctx context.Context, store registry.Store, namespace, name string, e *policyv1.Eviction, dryRun bool) error {
	if err := validateEviction(name, e); err != nil {
		return err
	}
	opts := e.DeleteOptions
	if opts == nil {
		opts = &metav1.DeleteOptions{}
	}
	if dryRun && len(opts.DryRun) == 0 {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	userRV := opts.Preconditions != nil && opts.Preconditions.ResourceVersion != nil
	retriable := apierrors.IsConflict
	if userRV {
		retriable = func(error) bool { return false }
	}
	var p *corev1.Pod
	deleted := false
	err := retry.OnError(evictionsRetry, retriable, func() error {
		obj, err := store.Get(ctx, podsGVR, namespace, name, "")
		if err != nil {
			return err
		}
		p = obj.(*corev1.Pod)
		if !CanIgnoreDisruptionBudget(p) {
			return nil
		}
		o := opts
		if enforceResourceVersion(p) && !userRV {
			// Not racing a pod that becomes ready meanwhile.
			o = withResourceVersion(opts, p.ResourceVersion)
		}
		if err := markAndDelete(ctx, store, p, o); err != nil {
			return err
		}
		deleted = true
		return nil
	})
	if err != nil || deleted {
		return err
	}
	pdbName, unreadyGoes, err := checkBudget(ctx, store, p, len(opts.DryRun) > 0)
	if err != nil {
		return err
	}
	o := opts
	if unreadyGoes {
		// Only while the pod is still the unready one that was judged.
		o = withResourceVersion(opts, p.ResourceVersion)
	}
	err = markAndDelete(ctx, store, p, o)
	if apierrors.IsConflict(err) && unreadyGoes && !userRV {
		// The pod changed: the client should ask again.
		return stillProcessing(pdbName)
	}
	return err
}

// markAndDelete marks the pod a DisruptionTarget, unless a dry run, and
// deletes it with opts (whose preconditions the mark checks first).
func markAndDelete(ctx context.Context, store registry.Store, p *corev1.Pod, opts *metav1.DeleteOptions) error {
	if len(opts.DryRun) == 0 {
		updated, err := store.Update(ctx, podsGVR, p.Namespace, p.Name, func(cur runtime.Object) (runtime.Object, error) {
			pod := cur.(*corev1.Pod)
			if err := checkPreconditions(pod, opts.Preconditions); err != nil {
				return nil, err
			}
			MarkDisruptionTarget(pod)
			return pod, nil
		})
		if err != nil {
			return err
		}
		if opts.Preconditions != nil && opts.Preconditions.ResourceVersion != nil {
			// The mark is this eviction's own change.
			opts = withResourceVersion(opts, updated.(*corev1.Pod).ResourceVersion)
		}
	}
	return store.Delete(ctx, podsGVR, p.Namespace, p.Name, opts)
}

// checkPreconditions is upstream's check of a delete's preconditions on
// the latest pod, before the eviction marks it.
func checkPreconditions(pod *corev1.Pod, pre *metav1.Preconditions) error {
	if pre == nil {
		return nil
	}
	if uid := pre.UID; uid != nil && *uid != "" && *uid != pod.UID {
		return apierrors.NewConflict(podGR, pod.Name,
			fmt.Errorf("the UID in the precondition (%s) does not match the UID in record (%s). The object might have been deleted and then recreated", *uid, pod.UID))
	}
	if rv := pre.ResourceVersion; rv != nil && *rv != "" && *rv != pod.ResourceVersion {
		return apierrors.NewConflict(podGR, pod.Name,
			fmt.Errorf("the ResourceVersion in the precondition (%s) does not match the ResourceVersion in record (%s). The object might have been modified", *rv, pod.ResourceVersion))
	}
	return nil
}

// enforceResourceVersion: a pod that is neither finished nor going may
// become ready while it is evicted without a budget check.
func enforceResourceVersion(p *corev1.Pod) bool {
	return p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed && p.DeletionTimestamp == nil
}

// withResourceVersion is a copy of opts with a resourceVersion
// precondition.
func withResourceVersion(opts *metav1.DeleteOptions, rv string) *metav1.DeleteOptions {
	o := opts.DeepCopy()
	if o.Preconditions == nil {
		o.Preconditions = &metav1.Preconditions{}
	}
	o.Preconditions.ResourceVersion = &rv
	return o
}

// evictionFromV1beta1 is the policy/v1 form of a policy/v1beta1
// Eviction: the same fields.
func evictionFromV1beta1(in *policyv1beta1.Eviction) *policyv1.Eviction {
	out := &policyv1.Eviction{ObjectMeta: in.ObjectMeta, DeleteOptions: in.DeleteOptions}
	out.APIVersion, out.Kind = policyv1.SchemeGroupVersion.String(), "Eviction"
	return out
}
