package replicationcontroller

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/kemudi/kemudi/internal/registry/core/podspec"
)

// Default applies upstream's v1 defaults: an empty selector, and empty
// labels on the controller itself, take the template's labels; replicas
// is 1; the template is defaulted like every pod template.
func Default(rc *corev1.ReplicationController) {
	if rc.Spec.Template != nil && rc.Spec.Template.Labels != nil {
		if len(rc.Spec.Selector) == 0 {
			rc.Spec.Selector = copyMap(rc.Spec.Template.Labels)
		}
		if len(rc.Labels) == 0 {
			rc.Labels = copyMap(rc.Spec.Template.Labels)
		}
	}
	if rc.Spec.Replicas == nil {
		one := int32(1)
		rc.Spec.Replicas = &one
	}
	if rc.Spec.Template != nil {
		podspec.DefaultPodTemplateSpec(rc.Spec.Template)
	}
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
