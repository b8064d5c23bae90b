package customresource

import (
	"math"
	"sort"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/version"

	"github.com/kemudi/kemudi/internal/registry"
)

// pathOf splits a simple JSON path (.spec.replicas) into its keys.
func pathOf(jsonPath string) []string {
	return strings.Split(strings.TrimPrefix(jsonPath, "."), ".")
}

// scale reads and writes the replicas at the paths the CRD's scale
// subresource names.
func scale(sc *apiextensionsv1.CustomResourceSubresourceScale) *registry.Scale {
	spec, status := pathOf(sc.SpecReplicasPath), pathOf(sc.StatusReplicasPath)
	var selector []string
	if sc.LabelSelectorPath != nil {
		selector = pathOf(*sc.LabelSelectorPath)
	}
	return &registry.Scale{
		Get: func(obj runtime.Object) (int32, int32, string) {
			u := obj.(*unstructured.Unstructured)
			specReplicas, _, _ := unstructured.NestedInt64(u.Object, spec...)
			statusReplicas, _, _ := unstructured.NestedInt64(u.Object, status...)
			sel := ""
			if selector != nil {
				sel, _, _ = unstructured.NestedString(u.Object, selector...)
			}
			return int32(specReplicas), int32(statusReplicas), sel
		},
		Set: func(obj runtime.Object, replicas int32) {
			u := obj.(*unstructured.Unstructured)
			_ = unstructured.SetNestedField(u.Object, int64(replicas), spec...)
		},
	}
}

// validateScale checks the replica counts a scale subresource reads, as
// upstream does: integers from 0 to the largest int32.
func validateScale(v apiextensionsv1.CustomResourceDefinitionVersion, u *unstructured.Unstructured) field.ErrorList {
	if v.Subresources == nil || v.Subresources.Scale == nil {
		return nil
	}
	sc := v.Subresources.Scale
	var errs field.ErrorList
	check := func(jsonPath string) {
		p := pathOf(jsonPath)
		val, found, _ := unstructured.NestedFieldNoCopy(u.Object, p...)
		if !found || val == nil {
			return
		}
		fp := field.NewPath(p[0], p[1:]...)
		n, ok := val.(int64)
		if !ok {
			if f, isFloat := val.(float64); isFloat && f == math.Trunc(f) {
				n, ok = int64(f), true
			}
		}
		switch {
		case !ok:
			errs = append(errs, field.Invalid(fp, val, "should be an integer"))
		case n < 0:
			errs = append(errs, field.Invalid(fp, n, "should be a non-negative integer"))
		case n > math.MaxInt32:
			errs = append(errs, field.Invalid(fp, n, "should be less than or equal to 2147483647"))
		}
	}
	check(sc.SpecReplicasPath)
	check(sc.StatusReplicasPath)
	if sc.LabelSelectorPath != nil {
		p := pathOf(*sc.LabelSelectorPath)
		if val, found, _ := unstructured.NestedFieldNoCopy(u.Object, p...); found && val != nil {
			if _, ok := val.(string); !ok {
				errs = append(errs, field.Invalid(field.NewPath(p[0], p[1:]...), val, "must be a string"))
			}
		}
	}
	return errs
}

// sortByPriority orders versions as upstream's discovery does.
func sortByPriority(versions []string) {
	sort.SliceStable(versions, func(i, j int) bool {
		return version.CompareKubeAwareVersionStrings(versions[i], versions[j]) > 0
	})
}
