package limitrange

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/kemudi/kemudi/internal/registry/core/resourcequota"
)

// Default fills a Container limit's defaults the way upstream does: the
// default limit falls back to the max, the default request to the
// default limit, then to the min. Every quantity is rounded up to
// milli-units.
func Default(lr *corev1.LimitRange) {
	for i := range lr.Spec.Limits {
		item := &lr.Spec.Limits[i]
		if item.Type == corev1.LimitTypeContainer {
			if item.Default == nil {
				item.Default = corev1.ResourceList{}
			}
			if item.DefaultRequest == nil {
				item.DefaultRequest = corev1.ResourceList{}
			}
			fillMissing(item.Default, item.Max)
			fillMissing(item.DefaultRequest, item.Default)
			fillMissing(item.DefaultRequest, item.Min)
		}
		for _, l := range []corev1.ResourceList{item.Max, item.Min, item.Default, item.DefaultRequest, item.MaxLimitRequestRatio} {
			resourcequota.RoundUpToMilli(l)
		}
	}
}

// fillMissing copies into dst the entries of src it lacks.
func fillMissing(dst, src corev1.ResourceList) {
	for name, q := range src {
		if _, ok := dst[name]; !ok {
			dst[name] = q.DeepCopy()
		}
	}
}
