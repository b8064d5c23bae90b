package builtin

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kemudi/kemudi/internal/auth"
)

var (
	podsGR            = schema.GroupResource{Resource: "pods"}
	priorityClassesGR = schema.GroupResource{Group: "scheduling.k8s.io", Resource: "priorityclasses"}
)

// Priority is upstream's Priority admission. In the mutating phase, for
// a pod being created, spec.priorityClassName (or, without one, the
// globalDefault class) resolves to spec.priority and
// spec.preemptionPolicy; an unknown class, or a priority or policy the
// pod sets that its class disagrees with, is forbidden. Without a class
// and a default the priority is 0. In the validating phase it refuses a
// second globalDefault class.
type Priority struct {
	Classes Reader[*schedulingv1.PriorityClass]
}

// Mutate implements auth.MutatingAdmission.
func (p Priority) Mutate(ctx context.Context, r *auth.AdmissionRequest) error {
	pod, ok := r.Object.(*corev1.Pod)
	if !ok || r.Operation != auth.Create {
		return nil
	}
	name, value, policy := pod.Spec.PriorityClassName, int32(0), corev1.PreemptLowerPriority
	if name == "" {
		def, err := p.defaultClass(ctx)
		if err != nil {
			return fmt.Errorf("error occurred while retrieving default priority class: %w", err)
		}
		if def != nil {
			name, value = def.Name, def.Value
			if def.PreemptionPolicy != nil {
				policy = *def.PreemptionPolicy
			}
		}
	} else {
		pc, err := p.Classes.Get(ctx, "", name)
		if apierrors.IsNotFound(err) {
			return apierrors.NewForbidden(podsGR, pod.Name, fmt.Errorf("no PriorityClass with name %v was found", name))
		}
		if err != nil {
			return fmt.Errorf("failed to resolve PriorityClass with name %s: %w", name, err)
		}
		value = pc.Value
		if pc.PreemptionPolicy != nil {
			policy = *pc.PreemptionPolicy
		}
	}
	if pod.Spec.Priority != nil && *pod.Spec.Priority != value {
		return apierrors.NewForbidden(podsGR, pod.Name, fmt.Errorf("the integer value of priority (%d) must not be provided in pod spec; priority admission controller computed %d from the given PriorityClass name", *pod.Spec.Priority, value))
	}
	if pod.Spec.PreemptionPolicy != nil && *pod.Spec.PreemptionPolicy != policy {
		return apierrors.NewForbidden(podsGR, pod.Name, fmt.Errorf("the string value of PreemptionPolicy (%s) must not be provided in pod spec; priority admission controller computed %s from the given PriorityClass name", *pod.Spec.PreemptionPolicy, policy))
	}
	pod.Spec.PriorityClassName = name
	pod.Spec.Priority = &value
	pod.Spec.PreemptionPolicy = &policy
	return nil
}

// Admit implements auth.Admission.
func (p Priority) Admit(ctx context.Context, r *auth.AdmissionRequest) error {
	pc, ok := r.Object.(*schedulingv1.PriorityClass)
	if !ok || r.Operation != auth.Create || !pc.GlobalDefault {
		return nil
	}
	def, err := p.defaultClass(ctx)
	if err != nil {
		return fmt.Errorf("failed to get default priority class: %w", err)
	}
	if def != nil && def.Name != pc.Name {
		return apierrors.NewForbidden(priorityClassesGR, pc.Name, fmt.Errorf("PriorityClass %v is already marked as default. Only one default can exist", def.Name))
	}
	return nil
}

// defaultClass is the globalDefault class (the lowest valued one if a
// race made several), nil if none.
func (p Priority) defaultClass(ctx context.Context) (*schedulingv1.PriorityClass, error) {
	classes, err := p.Classes.List(ctx, "")
	if err != nil {
		return nil, err
	}
	var def *schedulingv1.PriorityClass
	for _, pc := range classes {
		if pc.GlobalDefault && (def == nil || pc.Value < def.Value) {
			def = pc
		}
	}
	return def, nil
}
