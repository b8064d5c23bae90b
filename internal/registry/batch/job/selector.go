package job

import (
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry/core/podspec"
)

// The labels a job's pods carry unless the user picks the selector: the
// job's name and UID, under their current names and the unprefixed ones
// older clients and controllers still select on.
const (
	legacyJobNameLabel       = "job-name"
	legacyControllerUIDLabel = "controller-uid"
)

// PrepareForCreate generates the selector and pod labels of a job whose
// manualSelector is not true. It needs the job's UID, which the server has
// set by now. Alpha fields are dropped.
func PrepareForCreate(job *batchv1.Job) {
	if job.Spec.ManualSelector == nil || !*job.Spec.ManualSelector {
		generateSelector(job)
	}
	DropDisabledFields(&job.Spec, nil)
	// Upstream defaults a label-less job's labels from its template every
	// time it is read back, so such a job shows the generated labels.
	if len(job.Labels) == 0 && len(job.Spec.Template.Labels) > 0 {
		job.Labels = make(map[string]string, len(job.Spec.Template.Labels))
		for k, v := range job.Spec.Template.Labels {
			job.Labels[k] = v
		}
	}
}

// DropDisabledFields clears spec.scheduling (workload-aware scheduling,
// alpha and off in 1.37) and the template's alpha fields, unless the old
// spec (nil on create) already used them.
func DropDisabledFields(spec, old *batchv1.JobSpec) {
	var oldPod *corev1.PodSpec
	if old != nil {
		oldPod = &old.Template.Spec
	}
	podspec.DropDisabledFields(&spec.Template.Spec, oldPod)
	if old == nil || old.Scheduling == nil {
		spec.Scheduling = nil
	}
}

// generateSelector labels the template with the job's name and UID and
// selects on the UID, which is unique. Labels the user already set are
// kept: if they conflict, validation says so.
func generateSelector(job *batchv1.Job) {
	t := &job.Spec.Template
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	for _, key := range []string{legacyJobNameLabel, batchv1.JobNameLabel} {
		if _, ok := t.Labels[key]; !ok {
			t.Labels[key] = job.Name
		}
	}
	for _, key := range []string{legacyControllerUIDLabel, batchv1.ControllerUidLabel} {
		if _, ok := t.Labels[key]; !ok {
			t.Labels[key] = string(job.UID)
		}
	}
	if job.Spec.Selector == nil {
		job.Spec.Selector = &metav1.LabelSelector{}
	}
	if job.Spec.Selector.MatchLabels == nil {
		job.Spec.Selector.MatchLabels = map[string]string{}
	}
	if _, ok := job.Spec.Selector.MatchLabels[batchv1.ControllerUidLabel]; !ok {
		job.Spec.Selector.MatchLabels[batchv1.ControllerUidLabel] = string(job.UID)
	}
}

// validateGeneratedSelector checks, on create, that a generated selector
// came out as generated: the template carries the job's name and UID
// labels and the selector selects them.
func validateGeneratedSelector(job *batchv1.Job) field.ErrorList {
	if job.Spec.ManualSelector != nil && *job.Spec.ManualSelector || job.Spec.Selector == nil {
		return nil
	}
	var errs field.ErrorList
	if job.UID == "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "uid"), ""))
	}
	metaPath := field.NewPath("spec", "template", "metadata")
	expected := map[string]string{
		legacyControllerUIDLabel:   string(job.UID),
		legacyJobNameLabel:         job.Name,
		batchv1.ControllerUidLabel: string(job.UID),
		batchv1.JobNameLabel:       job.Name,
	}
	for _, key := range []string{legacyControllerUIDLabel, legacyJobNameLabel, batchv1.ControllerUidLabel, batchv1.JobNameLabel} {
		errs = append(errs, hasLabel(job.Spec.Template.Labels, metaPath, key, expected[key])...)
	}
	if selector, err := metav1.LabelSelectorAsSelector(job.Spec.Selector); err == nil && !selector.Matches(labels.Set(expected)) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "selector"), job.Spec.Selector, "`selector` not auto-generated"))
	}
	return errs
}

func hasLabel(l map[string]string, metaPath *field.Path, key, want string) field.ErrorList {
	got, ok := l[key]
	if !ok {
		return field.ErrorList{field.Required(metaPath.Child("labels").Key(key), fmt.Sprintf("must be '%s'", want))}
	}
	if got != want {
		return field.ErrorList{field.Invalid(metaPath.Child("labels").Key(key), l, fmt.Sprintf("must be '%s'", want))}
	}
	return nil
}
