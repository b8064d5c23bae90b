package builtin

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kemudi/kemudi/internal/auth"
)

var runtimeClassesGR = schema.GroupResource{Group: "node.k8s.io", Resource: "runtimeclasses"}

// RuntimeClass is upstream's RuntimeClass admission. A pod created with
// spec.runtimeClassName gets its class's overhead (spec.overhead) and
// scheduling (the class's node selector merged into the pod's, its
// tolerations added); an unknown class is forbidden, as is a pod whose
// own overhead or node selector disagrees with the class. The
// validating phase checks the overhead again, since later mutating
// plugins and webhooks may have changed it.
type RuntimeClass struct {
	Classes Reader[*nodev1.RuntimeClass]
}

// Mutate implements auth.MutatingAdmission.
func (p RuntimeClass) Mutate(ctx context.Context, r *auth.AdmissionRequest) error {
	pod, rc, err := p.podAndClass(ctx, r)
	if err != nil || rc == nil {
		return err
	}
	if rc.Overhead != nil {
		if len(pod.Spec.Overhead) > 0 && !apiequality.Semantic.DeepEqual(rc.Overhead.PodFixed, pod.Spec.Overhead) {
			return runtimeClassForbidden(pod, "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead")
		}
		pod.Spec.Overhead = rc.Overhead.PodFixed.DeepCopy()
	}
	if s := rc.Scheduling; s != nil {
		sel, err := mergeNodeSelector(pod.Spec.NodeSelector, s.NodeSelector)
		if err != nil {
			return runtimeClassForbidden(pod, err.Error())
		}
		pod.Spec.NodeSelector = sel
		pod.Spec.Tolerations = mergeTolerations(pod.Spec.Tolerations, s.Tolerations)
	}
	return nil
}

// Admit implements auth.Admission.
func (p RuntimeClass) Admit(ctx context.Context, r *auth.AdmissionRequest) error {
	pod, rc, err := p.podAndClass(ctx, r)
	if err != nil || pod == nil {
		return err
	}
	switch {
	case rc != nil && rc.Overhead != nil:
		if !apiequality.Semantic.DeepEqual(rc.Overhead.PodFixed, pod.Spec.Overhead) {
			return runtimeClassForbidden(pod, "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead")
		}
	case pod.Spec.Overhead != nil:
		return runtimeClassForbidden(pod, "pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead")
	}
	return nil
}

// podAndClass is the pod a request creates and its RuntimeClass: nil
// pod for any other request, nil class for a pod without one.
func (p RuntimeClass) podAndClass(ctx context.Context, r *auth.AdmissionRequest) (*corev1.Pod, *nodev1.RuntimeClass, error) {
	pod, ok := r.Object.(*corev1.Pod)
	if !ok || r.Operation != auth.Create || r.Subresource != "" {
		return nil, nil, nil
	}
	if pod.Spec.RuntimeClassName == nil {
		return pod, nil, nil
	}
	name := *pod.Spec.RuntimeClassName
	rc, err := p.Classes.Get(ctx, "", name)
	if apierrors.IsNotFound(err) {
		return nil, nil, runtimeClassForbidden(pod, fmt.Sprintf("pod rejected: RuntimeClass %q not found", name))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("get RuntimeClass %s: %w", name, err)
	}
	return pod, rc, nil
}

func runtimeClassForbidden(pod *corev1.Pod, msg string) error {
	return apierrors.NewForbidden(podsGR, pod.Name, errors.New(msg))
}

// mergeNodeSelector adds the class's node selector to the pod's; a key
// both set to different values is a conflict.
func mergeNodeSelector(pod, class map[string]string) (map[string]string, error) {
	if pod == nil {
		return class, nil
	}
	for k, v := range class {
		if pv, ok := pod[k]; ok && pv != v {
			return nil, fmt.Errorf("conflict: runtimeClass.scheduling.nodeSelector[%s] = %s; pod.spec.nodeSelector[%s] = %s", k, v, k, pv)
		}
		pod[k] = v
	}
	return pod, nil
}

// mergeTolerations is the pod's tolerations and the class's, leaving out
// any that another one of them already covers, as upstream merges them.
func mergeTolerations(pod, class []corev1.Toleration) []corev1.Toleration {
	all := append(append([]corev1.Toleration(nil), pod...), class...)
	var out []corev1.Toleration
	for i, t := range all {
		if coveredBy(t, out) || coveredByLater(t, all[i+1:]) {
			continue
		}
		out = append(out, t)
	}
	return out
}

func coveredBy(t corev1.Toleration, kept []corev1.Toleration) bool {
	for _, k := range kept {
		if tolerates(k, t) {
			return true
		}
	}
	return false
}

// coveredByLater is true when a later, different toleration covers t;
// of two equal ones the first stays.
func coveredByLater(t corev1.Toleration, later []corev1.Toleration) bool {
	for _, l := range later {
		if !apiequality.Semantic.DeepEqual(t, l) && tolerates(l, t) {
			return true
		}
	}
	return false
}

// tolerates is true when every taint that t tolerates, wide does too.
func tolerates(wide, t corev1.Toleration) bool {
	if apiequality.Semantic.DeepEqual(wide, t) {
		return true
	}
	anyKey := wide.Key == "" && wide.Operator == corev1.TolerationOpExists
	if t.Key != wide.Key && !anyKey {
		return false
	}
	if t.Effect != wide.Effect && wide.Effect != "" {
		return false
	}
	if wide.Effect == corev1.TaintEffectNoExecute && wide.TolerationSeconds != nil &&
		(t.TolerationSeconds == nil || *t.TolerationSeconds > *wide.TolerationSeconds) {
		return false
	}
	switch wide.Operator {
	case corev1.TolerationOpEqual, "":
		return t.Operator == corev1.TolerationOpEqual && t.Value == wide.Value
	case corev1.TolerationOpExists:
		return true
	}
	return false
}
