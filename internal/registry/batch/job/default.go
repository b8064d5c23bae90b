package job

import (
	"math"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kemudi/kemudi/internal/registry/core/podspec"
)

// Default fills a job's unset fields as batch/v1 does: a single pod run to
// completion (parallelism and completions 1 when both are unset), six
// retries (unlimited when retries are counted per index), NonIndexed
// completion, not suspended, replacement pods created once the old ones
// are gone (or have failed, with a pod failure policy), and a selector
// generated unless manualSelector is set. A job without labels takes its
// template's.
func Default(job *batchv1.Job) {
	spec := &job.Spec
	if spec.Completions == nil && spec.Parallelism == nil {
		spec.Completions = new(int32(1))
	}
	if spec.Parallelism == nil {
		spec.Parallelism = new(int32(1))
	}
	if spec.BackoffLimit == nil {
		if spec.BackoffLimitPerIndex != nil {
			spec.BackoffLimit = new(int32(math.MaxInt32))
		} else {
			spec.BackoffLimit = new(int32(6))
		}
	}
	if spec.Template.Labels != nil && len(job.Labels) == 0 {
		job.Labels = spec.Template.Labels
	}
	if spec.CompletionMode == nil {
		spec.CompletionMode = new(batchv1.NonIndexedCompletion)
	}
	if spec.Suspend == nil {
		spec.Suspend = new(false)
	}
	if spec.PodReplacementPolicy == nil {
		if spec.PodFailurePolicy != nil {
			spec.PodReplacementPolicy = new(batchv1.Failed)
		} else {
			spec.PodReplacementPolicy = new(batchv1.TerminatingOrFailed)
		}
	}
	if spec.ManualSelector == nil {
		spec.ManualSelector = new(false)
	}
	DefaultTemplate(spec)
}

// DefaultTemplate defaults the pod template and the pod failure policy's
// condition patterns (status True when unset). It is all the defaulting a
// cron job's job template gets: the rest comes when a job is created
// from it.
func DefaultTemplate(spec *batchv1.JobSpec) {
	if spec.PodFailurePolicy != nil {
		for i := range spec.PodFailurePolicy.Rules {
			for j := range spec.PodFailurePolicy.Rules[i].OnPodConditions {
				if p := &spec.PodFailurePolicy.Rules[i].OnPodConditions[j]; p.Status == "" {
					p.Status = corev1.ConditionTrue
				}
			}
		}
	}
	podspec.DefaultPodTemplateSpec(&spec.Template)
}
