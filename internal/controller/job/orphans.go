package job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// Orphan keys: "pod\x00ns\x00name" for one pod, "sel\x00ns\x00selector"
// for the pods a finished or deleted Job selected.
func orphanPodKey(namespace, name string) string { return "pod\x00" + namespace + "\x00" + name }

func orphanSelectorKey(job *batchv1.Job) string {
	sel, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
	if err != nil {
		return ""
	}
	return "sel\x00" + job.Namespace + "\x00" + sel.String()
}

func hasTrackingFinalizer(p *corev1.Pod) bool {
	return slices.Contains(p.Finalizers, batchv1.JobTrackingFinalizer)
}

// removeFinalizerPatch is the strategic merge patch removing the tracking
// finalizer, nil when the pod has none.
func removeFinalizerPatch(p *corev1.Pod) []byte {
	if !hasTrackingFinalizer(p) {
		return nil
	}
	b, _ := json.Marshal(map[string]any{"metadata": map[string]any{
		"$deleteFromPrimitiveList/finalizers": []string{batchv1.JobTrackingFinalizer},
	}})
	return b
}

func (jc *Controller) patchPod(ctx context.Context, p *corev1.Pod, patch []byte) error {
	_, err := jc.client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	return err
}

// syncOrphan removes the tracking finalizer from pods no running Job
// counts any more (orphaned, or of a finished or deleted Job), so that
// they can go.
func (jc *Controller) syncOrphan(ctx context.Context, k string) error {
	parts := strings.SplitN(k, "\x00", 3)
	if len(parts) != 3 {
		return nil
	}
	switch parts[0] {
	case "pod":
		p, err := jc.pods.Pods(parts[1]).Get(parts[2])
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return jc.releaseOrphan(ctx, p)
	case "sel":
		sel, err := labels.Parse(parts[2])
		if err != nil {
			return nil
		}
		pods, err := jc.pods.Pods(parts[1]).List(sel)
		if err != nil {
			return err
		}
		// A pod that failed fails the key: the retry lists again (a
		// pod released already is patched to the same again at most).
		var errs []error
		for _, p := range pods {
			errs = append(errs, jc.releaseOrphan(ctx, p))
		}
		return errors.Join(errs...)
	}
	return nil
}

func (jc *Controller) releaseOrphan(ctx context.Context, p *corev1.Pod) error {
	if ref := metav1.GetControllerOfNoCopy(p); ref != nil {
		if ref.Kind != controllerKind.Kind || ref.APIVersion != batchv1.SchemeGroupVersion.String() {
			return nil
		}
		job := jc.resolve(p.Namespace, ref)
		if job != nil && managedElsewhere(job) {
			return nil
		}
		if job != nil && !isFinished(job) {
			return nil
		}
	}
	patch := removeFinalizerPatch(p)
	if patch == nil {
		return nil
	}
	if err := jc.patchPod(ctx, p, patch); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove tracking finalizer of orphan pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	return nil
}

// managedElsewhere: a Job whose spec.managedBy names another controller
// is left to it.
func managedElsewhere(job *batchv1.Job) bool {
	return job.Spec.ManagedBy != nil && *job.Spec.ManagedBy != batchv1.JobControllerName
}

// isFinished: the Job has a Complete or Failed condition that is True.
func isFinished(job *batchv1.Job) bool {
	for _, c := range job.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}
