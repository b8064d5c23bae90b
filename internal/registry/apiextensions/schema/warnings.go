package schema

import (
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Warnings are what upstream warns about on a create (old nil) or update
// of a custom object: finalizers it adds whose names are not qualified
// names, or not domain-qualified with a path (upstream's built-in
// finalizers excepted).
func (v *Version) Warnings(obj, old map[string]interface{}) []string {
	added := map[string]bool{}
	for _, f := range (&unstructured.Unstructured{Object: obj}).GetFinalizers() {
		added[f] = true
	}
	if old != nil {
		for _, f := range (&unstructured.Unstructured{Object: old}).GetFinalizers() {
			delete(added, f)
		}
	}
	names := make([]string, 0, len(added))
	for f := range added {
		names = append(names, f)
	}
	sort.Strings(names)
	var out []string
	for _, f := range names {
		out = append(out, finalizerWarnings(f)...)
	}
	return out
}

func finalizerWarnings(f string) []string {
	const path = "metadata.finalizers"
	var out []string
	for _, msg := range validation.IsQualifiedName(f) {
		out = append(out, fmt.Sprintf("%s: %q: %s", path, f, msg))
	}
	if strings.Contains(f, "/") || f == metav1.FinalizerOrphanDependents || f == metav1.FinalizerDeleteDependents || f == "kubernetes" {
		return out
	}
	if strings.Contains(f, ".") {
		return append(out, fmt.Sprintf("%s: %q: prefer a domain-qualified finalizer name including a path (/) to avoid accidental conflicts with other finalizer writers", path, f))
	}
	return append(out, fmt.Sprintf("%s: %q: prefer a domain-qualified finalizer name to avoid accidental conflicts with other finalizer writers", path, f))
}
