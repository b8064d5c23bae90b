package daemonset

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/kemudi/kemudi/internal/registry/core/podspec"
)

// Upstream daemon sets carry a template generation, counting template
// changes, that apps/v1 shows as the deprecated.daemonset.template.generation
// annotation. Clients may still read it, so it is kept as upstream keeps
// it: 1 on create, +1 on each template change, never set by users.
//
// Both hooks also drop the template's alpha fields the old template did
// not use.

func prepareForCreate(ds *appsv1.DaemonSet) {
	podspec.DropDisabledFields(&ds.Spec.Template.Spec, nil)
	if templateGeneration(ds) < 1 {
		setTemplateGeneration(ds, 1)
	}
}

func prepareForUpdate(ds, old *appsv1.DaemonSet) {
	podspec.DropDisabledFields(&ds.Spec.Template.Spec, &old.Spec.Template.Spec)
	gen := templateGeneration(old)
	if !equality.Semantic.DeepEqual(ds.Spec.Template, old.Spec.Template) {
		gen++
	}
	setTemplateGeneration(ds, gen)
}

func templateGeneration(ds *appsv1.DaemonSet) int64 {
	n, err := strconv.ParseInt(ds.Annotations[appsv1.DeprecatedTemplateGeneration], 10, 64)
	if err != nil {
		return 0
	}
	return n
}

func setTemplateGeneration(ds *appsv1.DaemonSet, gen int64) {
	if ds.Annotations == nil {
		ds.Annotations = map[string]string{}
	}
	ds.Annotations[appsv1.DeprecatedTemplateGeneration] = strconv.FormatInt(gen, 10)
}
