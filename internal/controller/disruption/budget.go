package disruption

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kemudi/kemudi/internal/controller"
)

// deletionTimeout is how long an eviction the API server recorded in
// status.disruptedPods is trusted to delete its pod (upstream's 2 min).
const deletionTimeout = 2 * time.Minute

// scaleOf is a workload controller and its desired replicas.
type scaleOf struct {
	uid   types.UID
	scale int32
}

// finder resolves a pod's controller reference to the workload that
// sets its replica count (nil when the reference is not of its kind).
type finder func(ctx context.Context, ref *metav1.OwnerReference, namespace string) (*scaleOf, error)

// expectedCounts works out how many pods a budget expects and how many
// must be healthy. An integer minAvailable counts the selected pods; a
// percentage or maxUnavailable needs the controllers' replicas, and then
// a pod without a controller is unmanaged.
func expectedCounts(ctx context.Context, pdb *policyv1.PodDisruptionBudget, pods []*corev1.Pod, finders []finder) (expected, desiredHealthy int32, unmanaged []string, err error) {
	switch {
	case pdb.Spec.MaxUnavailable != nil:
		expected, unmanaged, err = expectedScale(ctx, pods, finders)
		if err != nil {
			return
		}
		var mu int
		if mu, err = intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MaxUnavailable, int(expected), true); err != nil {
			return
		}
		desiredHealthy = max(expected-int32(mu), 0)
	case pdb.Spec.MinAvailable != nil && pdb.Spec.MinAvailable.Type == intstr.Int:
		desiredHealthy = pdb.Spec.MinAvailable.IntVal
		expected = int32(len(pods))
	case pdb.Spec.MinAvailable != nil:
		expected, unmanaged, err = expectedScale(ctx, pods, finders)
		if err != nil {
			return
		}
		var ma int
		if ma, err = intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MinAvailable, int(expected), true); err != nil {
			return
		}
		desiredHealthy = int32(ma)
	}
	return
}

// expectedScale sums the replicas of the pods' controllers.
func expectedScale(ctx context.Context, pods []*corev1.Pod, finders []finder) (int32, []string, error) {
	scales := map[types.UID]int32{}
	var unmanaged []string
	for _, p := range pods {
		ref := metav1.GetControllerOfNoCopy(p)
		if ref == nil {
			unmanaged = append(unmanaged, p.Name)
			continue
		}
		if _, ok := scales[ref.UID]; ok {
			continue
		}
		found := false
		for _, f := range finders {
			s, err := f(ctx, ref, p.Namespace)
			if err != nil {
				return 0, nil, err
			}
			if s != nil {
				scales[s.uid] = s.scale
				found = true
				break
			}
		}
		if !found {
			return 0, nil, fmt.Errorf("found no controllers for pod %q", p.Name)
		}
	}
	var n int32
	for _, s := range scales {
		n += s
	}
	return n, unmanaged, nil
}

// disruptedPods keeps the evictions still expected to delete their pod;
// those past deletionTimeout are dropped (and reported), and recheck is
// when the next one expires.
func disruptedPods(pdb *policyv1.PodDisruptionBudget, pods []*corev1.Pod, now time.Time) (kept map[string]metav1.Time, expired []*corev1.Pod, recheck *time.Time) {
	kept = map[string]metav1.Time{}
	if pdb.Status.DisruptedPods == nil {
		return kept, nil, nil
	}
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		t, ok := pdb.Status.DisruptedPods[p.Name]
		if !ok {
			continue
		}
		deadline := t.Add(deletionTimeout)
		if deadline.Before(now) {
			expired = append(expired, p)
			continue
		}
		if recheck == nil || deadline.Before(*recheck) {
			recheck = &deadline
		}
		kept[p.Name] = t
	}
	return kept, expired, recheck
}

// countHealthy counts the ready pods not being deleted nor evicted.
func countHealthy(pods []*corev1.Pod, disrupted map[string]metav1.Time, now time.Time) int32 {
	var n int32
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		if t, ok := disrupted[p.Name]; ok && t.Add(deletionTimeout).After(now) {
			continue
		}
		if controller.IsPodReady(p) {
			n++
		}
	}
	return n
}

// disruptionsAllowed is how many more pods may go.
func disruptionsAllowed(current, desired, expected int32) int32 {
	if expected <= 0 || current <= desired {
		return 0
	}
	return current - desired
}
