package simnode

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// ParseTaints parses taints as kubectl taint writes them: key=value:Effect
// or key:Effect.
func ParseTaints(specs []string) ([]corev1.Taint, error) {
	var out []corev1.Taint
	for _, spec := range specs {
		kv, effect, ok := strings.Cut(spec, ":")
		if !ok {
			return nil, fmt.Errorf("taint %q: want key=value:Effect or key:Effect", spec)
		}
		key, value, _ := strings.Cut(kv, "=")
		t := corev1.Taint{Key: key, Value: value, Effect: corev1.TaintEffect(effect)}
		switch t.Effect {
		case corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		default:
			return nil, fmt.Errorf("taint %q: effect must be NoSchedule, PreferNoSchedule or NoExecute", spec)
		}
		if errs := validation.IsQualifiedName(key); len(errs) > 0 {
			return nil, fmt.Errorf("taint %q: key: %s", spec, strings.Join(errs, "; "))
		}
		if value != "" {
			if errs := validation.IsValidLabelValue(value); len(errs) > 0 {
				return nil, fmt.Errorf("taint %q: value: %s", spec, strings.Join(errs, "; "))
			}
		}
		out = append(out, t)
	}
	return out, nil
}

// ParseLabels parses key=value labels.
func ParseLabels(specs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, spec := range specs {
		k, v, ok := strings.Cut(spec, "=")
		if !ok {
			return nil, fmt.Errorf("label %q: want key=value", spec)
		}
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return nil, fmt.Errorf("label %q: key: %s", spec, strings.Join(errs, "; "))
		}
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			return nil, fmt.Errorf("label %q: value: %s", spec, strings.Join(errs, "; "))
		}
		out[k] = v
	}
	return out, nil
}

// ParseResources parses name=quantity pairs (cpu=4, example.com/gpu=2).
func ParseResources(specs []string) (corev1.ResourceList, error) {
	out := corev1.ResourceList{}
	for _, spec := range specs {
		k, v, ok := strings.Cut(spec, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("resource %q: want name=quantity", spec)
		}
		q, err := resource.ParseQuantity(v)
		if err != nil {
			return nil, fmt.Errorf("resource %q: %w", spec, err)
		}
		if q.Sign() < 0 {
			return nil, fmt.Errorf("resource %q: must not be negative", spec)
		}
		out[corev1.ResourceName(k)] = q
	}
	return out, nil
}
