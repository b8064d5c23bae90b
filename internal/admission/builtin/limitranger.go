package builtin

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/kemudi/kemudi/internal/auth"
)

const limitRangerAnnotation = "kubernetes.io/limit-ranger"

// LimitRanger is upstream's LimitRanger admission for pods: each
// LimitRange of the namespace gives containers its default requests and
// limits (recorded in the kubernetes.io/limit-ranger annotation) in the
// mutating phase; in the validating phase the containers must keep within
// every LimitRange's minimum and maximum. A resize (pods/resize) is
// defaulted and checked as a create is.
type LimitRanger struct {
	LimitRanges Reader[*corev1.LimitRange]
}

// Mutate implements auth.MutatingAdmission.
func (p LimitRanger) Mutate(ctx context.Context, r *auth.AdmissionRequest) error {
	pod, ok := r.Object.(*corev1.Pod)
	if !ok || !limitedOperation(r) {
		return nil
	}
	ranges, err := p.LimitRanges.List(ctx, pod.Namespace)
	if err != nil {
		return err
	}
	for _, lr := range ranges {
		applyLimitRangeDefaults(pod, lr)
	}
	return nil
}

// Admit implements auth.Admission.
func (p LimitRanger) Admit(ctx context.Context, r *auth.AdmissionRequest) error {
	pod, ok := r.Object.(*corev1.Pod)
	if !ok || !limitedOperation(r) {
		return nil
	}
	ranges, err := p.LimitRanges.List(ctx, pod.Namespace)
	if err != nil {
		return err
	}
	var errs []error
	for _, lr := range ranges {
		errs = append(errs, checkLimitRange(pod, lr)...)
	}
	if len(errs) > 0 {
		return apierrors.NewForbidden(podsGR, pod.Name, utilerrors.NewAggregate(errs))
	}
	return nil
}

// limitedOperation: pods are limited when created and when resized in
// place (pods/resize), the only updates that change their resources.
func limitedOperation(r *auth.AdmissionRequest) bool {
	switch {
	case r.Subresource == "" && r.Operation == auth.Create:
		return true
	case r.Subresource == "resize" && r.Operation == auth.Update:
		return true
	}
	return false
}

func applyLimitRangeDefaults(pod *corev1.Pod, lr *corev1.LimitRange) {
	requests, limits := corev1.ResourceList{}, corev1.ResourceList{}
	for _, item := range lr.Spec.Limits {
		if item.Type != corev1.LimitTypeContainer {
			continue
		}
		for k, v := range item.DefaultRequest {
			requests[k] = v.DeepCopy()
		}
		for k, v := range item.Default {
			limits[k] = v.DeepCopy()
		}
	}
	if len(requests) == 0 && len(limits) == 0 {
		return
	}
	var notes []string
	merge := func(c *corev1.Container, kind string) {
		var setReq, setLim []string
		for k, v := range limits {
			if _, ok := c.Resources.Limits[k]; !ok {
				if c.Resources.Limits == nil {
					c.Resources.Limits = corev1.ResourceList{}
				}
				c.Resources.Limits[k] = v.DeepCopy()
				setLim = append(setLim, string(k))
			}
		}
		for k, v := range requests {
			if _, ok := c.Resources.Requests[k]; !ok {
				if c.Resources.Requests == nil {
					c.Resources.Requests = corev1.ResourceList{}
				}
				c.Resources.Requests[k] = v.DeepCopy()
				setReq = append(setReq, string(k))
			}
		}
		if len(setReq) > 0 {
			sort.Strings(setReq)
			notes = append(notes, strings.Join(setReq, ", ")+fmt.Sprintf(" request for %s %s", kind, c.Name))
		}
		if len(setLim) > 0 {
			sort.Strings(setLim)
			notes = append(notes, strings.Join(setLim, ", ")+fmt.Sprintf(" limit for %s %s", kind, c.Name))
		}
	}
	for i := range pod.Spec.Containers {
		merge(&pod.Spec.Containers[i], "container")
	}
	for i := range pod.Spec.InitContainers {
		merge(&pod.Spec.InitContainers[i], "init container")
	}
	if len(notes) > 0 {
		if pod.Annotations == nil {
			pod.Annotations = map[string]string{}
		}
		pod.Annotations[limitRangerAnnotation] = "LimitRanger plugin set: " + strings.Join(notes, "; ")
	}
}

// checkLimitRange checks containers against the Container minimums and
// maximums, with upstream's messages.
func checkLimitRange(pod *corev1.Pod, lr *corev1.LimitRange) []error {
	var errs []error
	for _, item := range lr.Spec.Limits {
		if item.Type != corev1.LimitTypeContainer {
			continue
		}
		for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
			for _, c := range cs {
				for _, k := range sets.List(sets.KeySet(item.Min)) {
					min := item.Min[k]
					req, ok := c.Resources.Requests[k]
					switch {
					case !ok:
						errs = append(errs, fmt.Errorf("minimum %s usage per Container is %s.  No request is specified", k, min.String()))
					case req.Cmp(min) < 0:
						errs = append(errs, fmt.Errorf("minimum %s usage per Container is %s, but request is %s", k, min.String(), req.String()))
					}
				}
				for _, k := range sets.List(sets.KeySet(item.Max)) {
					max := item.Max[k]
					lim, ok := c.Resources.Limits[k]
					switch {
					case !ok:
						errs = append(errs, fmt.Errorf("maximum %s usage per Container is %s.  No limit is specified", k, max.String()))
					case lim.Cmp(max) > 0:
						errs = append(errs, fmt.Errorf("maximum %s usage per Container is %s, but limit is %s", k, max.String(), lim.String()))
					}
				}
			}
		}
	}
	return errs
}
