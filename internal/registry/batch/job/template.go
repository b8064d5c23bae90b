package job

import (
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateTemplateUpdate keeps a job's pod template fixed, except while
// the job is suspended and has no pods running and either never started
// or was suspended by its controller: then its scheduling directives
// (node affinity, node selector, tolerations, scheduling gates, labels and
// annotations) and its containers' resources may change.
func validateTemplateUpdate(job, old *batchv1.Job) field.ErrorList {
	templatePath := field.NewPath("spec", "template")
	mutable := templateMutable(old)
	oldTemplate := &old.Spec.Template
	if mutable {
		oldTemplate = withSchedulingDirectivesOf(oldTemplate, &job.Spec.Template)
	}
	suspended := old.Spec.Suspend != nil && *old.Spec.Suspend
	if !suspended || !mutable {
		return immutable(job.Spec.Template, *oldTemplate, templatePath)
	}
	return onlyResourcesChanged(&job.Spec.Template.Spec, &oldTemplate.Spec, templatePath.Child("spec"))
}

// templateMutable reports whether the job, as stored, may have its
// template changed: suspended, no active pods, and not started or
// suspended by its controller since.
func templateMutable(job *batchv1.Job) bool {
	suspended := job.Spec.Suspend != nil && *job.Spec.Suspend
	notStarted := job.Status.StartTime == nil
	return suspended && (notStarted || conditionTrue(job.Status.Conditions, batchv1.JobSuspended)) && job.Status.Active == 0
}

// withSchedulingDirectivesOf returns a copy of old with t's scheduling
// directives, so that comparing it to t ignores them.
func withSchedulingDirectivesOf(old, t *corev1.PodTemplateSpec) *corev1.PodTemplateSpec {
	c := old.DeepCopy()
	switch {
	case t.Spec.Affinity == nil && c.Spec.Affinity != nil:
		// Clearing affinity is fine if node affinity was all there was.
		c.Spec.Affinity.NodeAffinity = nil
		if *c.Spec.Affinity == (corev1.Affinity{}) {
			c.Spec.Affinity = nil
		}
	case t.Spec.Affinity != nil && c.Spec.Affinity == nil:
		c.Spec.Affinity = &corev1.Affinity{NodeAffinity: t.Spec.Affinity.NodeAffinity}
	case t.Spec.Affinity != nil && c.Spec.Affinity != nil:
		c.Spec.Affinity.NodeAffinity = t.Spec.Affinity.NodeAffinity
	}
	c.Spec.NodeSelector = t.Spec.NodeSelector
	c.Spec.Tolerations = t.Spec.Tolerations
	c.Spec.SchedulingGates = t.Spec.SchedulingGates
	c.Annotations = t.Annotations
	c.Labels = t.Labels
	return c
}

// onlyResourcesChanged checks that spec differs from old at most in its
// containers' and init containers' resources.
func onlyResourcesChanged(spec, old *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	c := old.DeepCopy()
	copyResources := func(dst, src []corev1.Container) {
		if len(dst) != len(src) {
			return
		}
		for i := range src {
			if dst[i].Name == src[i].Name {
				dst[i].Resources = src[i].Resources
			}
		}
	}
	copyResources(c.Containers, spec.Containers)
	copyResources(c.InitContainers, spec.InitContainers)
	return immutable(*spec, *c, fldPath)
}

func conditionTrue(conditions []batchv1.JobCondition, t batchv1.JobConditionType) bool {
	for _, c := range conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}
