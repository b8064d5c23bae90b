package builtin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	resourcehelper "k8s.io/component-helpers/resource"

	"github.com/kemudi/kemudi/internal/auth"
)

// PodResizeValidator is upstream's admission plugin of that name: a
// resize (pods/resize) of a bound pod is refused at once when the node
// could never give it what it asks (its requests above the node's
// allocatable) or is not a Linux node, rather than left for the kubelet
// to report as infeasible.
type PodResizeValidator struct {
	Nodes Reader[*corev1.Node]
}

// The causes upstream's refusals carry.
const (
	causeNodeCapacity        metav1.CauseType = "NodeCapacity"
	causeUnsupportedPlatform metav1.CauseType = "UnsupportedPlatform"
)

// Admit implements auth.Admission.
func (p PodResizeValidator) Admit(ctx context.Context, r *auth.AdmissionRequest) error {
	if r.Operation != auth.Update || r.APIGroup != "" || r.Resource != "pods" || r.Subresource != "resize" {
		return nil
	}
	pod, ok := r.Object.(*corev1.Pod)
	if !ok || pod.Spec.NodeName == "" {
		return nil
	}
	// Only a change of the spec moves the generation.
	if old, ok := r.Old.(*corev1.Pod); ok && old.Generation == pod.Generation {
		return nil
	}
	node, err := p.Nodes.Get(ctx, "", pod.Spec.NodeName)
	if apierrors.IsNotFound(err) {
		return apierrors.NewForbidden(podsGR, pod.Name, fmt.Errorf("node %q not found", pod.Spec.NodeName))
	}
	if err != nil {
		return apierrors.NewForbidden(podsGR, pod.Name, fmt.Errorf("failed to get node %q: %w", pod.Spec.NodeName, err))
	}
	if os, ok := node.Labels[corev1.LabelOSStable]; ok && os != "linux" {
		return podResizeRefusal(pod.Name, fmt.Errorf("pod resize is only supported on linux nodes, node %q is %q", node.Name, os), causeUnsupportedPlatform)
	}
	if err := requestsWithinAllocatable(pod, node.Status.Allocatable); err != nil {
		return podResizeRefusal(pod.Name, err, causeNodeCapacity)
	}
	return nil
}

// requestsWithinAllocatable reports, in upstream's words, the cpu and
// memory a pod requests beyond what a node has to allocate.
func requestsWithinAllocatable(pod *corev1.Pod, allocatable corev1.ResourceList) error {
	requests := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})
	cpu, mem := requests[corev1.ResourceCPU], requests[corev1.ResourceMemory]
	var msg []string
	if a := allocatable.Cpu(); cpu.Cmp(*a) > 0 {
		msg = append(msg, fmt.Sprintf("cpu, requested: %d, allocatable: %d", cpu.MilliValue(), a.MilliValue()))
	}
	if a := allocatable.Memory(); mem.Cmp(*a) > 0 {
		msg = append(msg, fmt.Sprintf("memory, requested: %d, allocatable: %d", mem.Value(), a.Value()))
	}
	if len(msg) > 0 {
		return errors.New("node didn't have enough allocatable resources: " + strings.Join(msg, "; "))
	}
	return nil
}

func podResizeRefusal(name string, err error, cause metav1.CauseType) error {
	e := apierrors.NewForbidden(podsGR, name, err)
	e.ErrStatus.Details.Causes = append(e.ErrStatus.Details.Causes, metav1.StatusCause{Type: cause})
	return e
}
