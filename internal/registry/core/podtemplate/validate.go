package podtemplate

import (
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry/core/podspec"
)

// Validate checks the template at "template".
func Validate(t *corev1.PodTemplate) field.ErrorList {
	return podspec.ValidatePodTemplateSpec(&t.Template, field.NewPath("template"))
}

// Warnings returns the template's warnings on create, and on an update
// that changes the template.
func Warnings(t, old *corev1.PodTemplate) []string {
	if old != nil && apiequality.Semantic.DeepEqual(t.Template, old.Template) {
		return nil
	}
	return podspec.Warnings(field.NewPath("template"), &t.Template.ObjectMeta, &t.Template.Spec)
}
