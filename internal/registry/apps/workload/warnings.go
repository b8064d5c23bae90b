package workload

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry/core/podspec"
)

// NameWarnings warns, as upstream does on create, when a controller's name
// is a valid subdomain but not a DNS label: its pods' names and hostnames
// derive from it.
func NameWarnings(name string) []string {
	if msgs := validation.IsDNS1123Label(name); len(msgs) != 0 {
		return []string{fmt.Sprintf("metadata.name: this is used in Pod names and hostnames, which can result in surprising behavior; a DNS label is recommended: %v", msgs)}
	}
	return nil
}

// TemplateWarnings returns the pod template's warnings (deprecated labels,
// annotations and volume types, duplicates, ...) at templatePath, on
// create (old nil) and on updates that change the template.
func TemplateWarnings(t, old *corev1.PodTemplateSpec, templatePath *field.Path) []string {
	if old != nil && equality.Semantic.DeepEqual(t, old) {
		return nil
	}
	return podspec.Warnings(templatePath, &t.ObjectMeta, &t.Spec)
}
