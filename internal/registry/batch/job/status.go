package job

import (
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ValidateStatusUpdate checks a status written by the job controller (or
// by the controller managedBy names). Since another controller may write
// it, the transitions are checked as upstream checks them: counters never
// go down, terminal conditions stay, finished jobs have consistent times
// and no pods. Most rules apply only when the fields they concern change,
// so a status that a spec change made stale can still be fixed up.
func ValidateStatusUpdate(job, old *batchv1.Job) field.ErrorList {
	st, oldSt := &job.Status, &old.Status
	fldPath := field.NewPath("status")
	changed := statusChanges(job, old)

	errs := validateStatus(job, fldPath, changed)
	for _, t := range []batchv1.JobConditionType{batchv1.JobFailed, batchv1.JobComplete, batchv1.JobFailureTarget} {
		if conditionTrue(oldSt.Conditions, t) && !conditionTrue(st.Conditions, t) {
			errs = append(errs, field.Invalid(fldPath.Child("conditions"), field.OmitValueType{}, fmt.Sprintf("cannot disable the terminal %s=True condition", t)))
		}
	}
	if st.Failed < oldSt.Failed {
		errs = append(errs, field.Invalid(fldPath.Child("failed"), st.Failed, "cannot decrease the failed counter"))
	}
	// An Indexed job with completions == parallelism may be scaled down,
	// which forgets succeeded indexes.
	elastic := isIndexed(&job.Spec) && equalPtr(job.Spec.Completions, job.Spec.Parallelism)
	if !elastic && st.Succeeded < oldSt.Succeeded {
		errs = append(errs, field.Invalid(fldPath.Child("succeeded"), st.Succeeded, "cannot decrease the succeeded counter"))
	}
	if st.CompletionTime != nil && oldSt.CompletionTime != nil && !st.CompletionTime.Equal(oldSt.CompletionTime) {
		errs = append(errs, field.Invalid(fldPath.Child("completionTime"), st.CompletionTime, "field is immutable"))
	}
	resuming := conditionTrue(oldSt.Conditions, batchv1.JobSuspended) && conditionFalse(st.Conditions, batchv1.JobSuspended)
	suspended := job.Spec.Suspend != nil && *job.Spec.Suspend
	if changed.startTime && !resuming && oldSt.StartTime != nil && !suspended {
		errs = append(errs, field.Invalid(fldPath.Child("startTime"), st.StartTime, "field is immutable for unsuspended job once set"))
	}
	if conditionTrue(oldSt.Conditions, batchv1.JobSuccessCriteriaMet) && !conditionTrue(st.Conditions, batchv1.JobSuccessCriteriaMet) {
		errs = append(errs, field.Invalid(fldPath.Child("conditions"), field.OmitValueType{}, "cannot disable the SuccessCriteriaMet=True condition"))
	}
	if conditionTrue(oldSt.Conditions, batchv1.JobComplete) && !conditionTrue(oldSt.Conditions, batchv1.JobSuccessCriteriaMet) && conditionTrue(st.Conditions, batchv1.JobSuccessCriteriaMet) {
		errs = append(errs, field.Invalid(fldPath.Child("conditions"), field.OmitValueType{}, "cannot set SuccessCriteriaMet=True for Job already has Complete=true conditions"))
	}
	return errs
}

// changes records which parts of the status an update touches.
type changes struct {
	finished, complete, failed, failureTarget, successCriteriaMet bool
	completedIndexes, failedIndexes, active, startTime            bool
	completionTime, uncounted, ready, terminating                 bool
}

func statusChanges(job, old *batchv1.Job) changes {
	st, o := &job.Status, &old.Status
	cond := func(t batchv1.JobConditionType) bool {
		return conditionTrue(o.Conditions, t) != conditionTrue(st.Conditions, t)
	}
	return changes{
		finished:           finished(job) != finished(old),
		complete:           cond(batchv1.JobComplete),
		failed:             cond(batchv1.JobFailed),
		failureTarget:      cond(batchv1.JobFailureTarget),
		successCriteriaMet: cond(batchv1.JobSuccessCriteriaMet),
		completedIndexes:   o.CompletedIndexes != st.CompletedIndexes,
		failedIndexes:      !equalPtr(o.FailedIndexes, st.FailedIndexes),
		active:             o.Active != st.Active,
		startTime:          !timesEqual(o.StartTime, st.StartTime),
		completionTime:     !timesEqual(o.CompletionTime, st.CompletionTime),
		uncounted:          !equality.Semantic.DeepEqual(o.UncountedTerminatedPods, st.UncountedTerminatedPods),
		ready:              !equalPtr(o.Ready, st.Ready),
		terminating:        !equalPtr(o.Terminating, st.Terminating),
	}
}

func validateStatus(job *batchv1.Job, fldPath *field.Path, ch changes) field.ErrorList {
	st := &job.Status
	errs := nonNegative(st.Active, fldPath.Child("active"))
	errs = append(errs, nonNegative(st.Succeeded, fldPath.Child("succeeded"))...)
	errs = append(errs, nonNegative(st.Failed, fldPath.Child("failed"))...)
	if st.Ready != nil {
		errs = append(errs, nonNegative(*st.Ready, fldPath.Child("ready"))...)
	}
	if st.Terminating != nil {
		errs = append(errs, nonNegative(*st.Terminating, fldPath.Child("terminating"))...)
	}
	if u := st.UncountedTerminatedPods; u != nil {
		p := fldPath.Child("uncountedTerminatedPods")
		seen := map[types.UID]bool{}
		check := func(uids []types.UID, p *field.Path) {
			for i, uid := range uids {
				switch {
				case uid == "":
					errs = append(errs, field.Invalid(p.Index(i), uid, "must not be empty"))
				case seen[uid]:
					errs = append(errs, field.Duplicate(p.Index(i), uid))
				default:
					seen[uid] = true
				}
			}
		}
		check(u.Succeeded, p.Child("succeeded"))
		check(u.Failed, p.Child("failed"))
	}
	complete, failed := conditionTrue(st.Conditions, batchv1.JobComplete), conditionTrue(st.Conditions, batchv1.JobFailed)
	failureTarget := conditionTrue(st.Conditions, batchv1.JobFailureTarget)
	successCriteriaMet := conditionTrue(st.Conditions, batchv1.JobSuccessCriteriaMet)
	isFinished := finished(job)
	condPath := fldPath.Child("conditions")
	if (ch.complete || ch.failed) && complete && failed {
		errs = append(errs, field.Invalid(condPath, field.OmitValueType{}, "cannot set Complete=True and Failed=true conditions"))
	}
	if (ch.complete || ch.failureTarget) && complete && failureTarget {
		errs = append(errs, field.Invalid(condPath, field.OmitValueType{}, "cannot set Complete=True and FailureTarget=true conditions"))
	}
	if (ch.complete || ch.completionTime) && st.CompletionTime != nil && !complete {
		errs = append(errs, field.Invalid(fldPath.Child("completionTime"), st.CompletionTime, "cannot set completionTime when there is no Complete=True condition"))
	}
	if (ch.complete || ch.completionTime) && st.CompletionTime == nil && complete {
		errs = append(errs, field.Required(fldPath.Child("completionTime"), "completionTime is required for Complete jobs"))
	}
	if (ch.startTime || ch.completionTime) && st.StartTime != nil && st.CompletionTime != nil && st.CompletionTime.Before(st.StartTime) {
		errs = append(errs, field.Invalid(fldPath.Child("completionTime"), st.CompletionTime, "must be equal to or after `startTime`"))
	}
	if (ch.failed || ch.failedIndexes) && failed && !failureTarget {
		errs = append(errs, field.Invalid(condPath, field.OmitValueType{}, "cannot set Failed=True condition without the FailureTarget=true condition"))
	}
	if (ch.complete || ch.successCriteriaMet) && complete && !successCriteriaMet {
		errs = append(errs, field.Invalid(condPath, field.OmitValueType{}, "cannot set Complete=True condition without the SuccessCriteriaMet=true condition"))
	}
	if (ch.finished || ch.active) && st.Active > 0 && isFinished {
		errs = append(errs, field.Invalid(fldPath.Child("active"), st.Active, "active>0 is invalid for finished job"))
	}
	// A suspended job with no completions finishes without ever starting.
	suspendedEmpty := job.Spec.Suspend != nil && *job.Spec.Suspend && job.Spec.Completions != nil && *job.Spec.Completions == 0
	if (ch.finished || ch.startTime) && !suspendedEmpty && st.StartTime == nil && isFinished {
		errs = append(errs, field.Required(fldPath.Child("startTime"), "startTime is required for finished job"))
	}
	if (ch.finished || ch.uncounted) && isFinished && st.UncountedTerminatedPods != nil && len(st.UncountedTerminatedPods.Failed)+len(st.UncountedTerminatedPods.Succeeded) > 0 {
		errs = append(errs, field.Invalid(fldPath.Child("uncountedTerminatedPods"), st.UncountedTerminatedPods, "must be empty for finished job"))
	}
	if ch.completedIndexes && job.Spec.Completions != nil {
		if _, err := countIndexes(st.CompletedIndexes, *job.Spec.Completions); err != nil {
			errs = append(errs, field.Invalid(fldPath.Child("completedIndexes"), st.CompletedIndexes, fmt.Sprintf("error parsing completedIndexes: %s", err)))
		}
	}
	if ch.failedIndexes && job.Spec.Completions != nil && job.Spec.BackoffLimitPerIndex != nil && st.FailedIndexes != nil {
		if _, err := countIndexes(*st.FailedIndexes, *job.Spec.Completions); err != nil {
			errs = append(errs, field.Invalid(fldPath.Child("failedIndexes"), st.FailedIndexes, fmt.Sprintf("error parsing failedIndexes: %s", err)))
		}
	}
	if ch.completedIndexes && st.CompletedIndexes != "" && !isIndexed(&job.Spec) {
		errs = append(errs, field.Invalid(fldPath.Child("completedIndexes"), st.CompletedIndexes, "cannot set non-empty completedIndexes when non-indexed completion mode"))
	}
	if ch.failedIndexes && job.Spec.BackoffLimitPerIndex == nil && st.FailedIndexes != nil {
		errs = append(errs, field.Invalid(fldPath.Child("failedIndexes"), *st.FailedIndexes, "cannot set non-null failedIndexes when backoffLimitPerIndex is null"))
	}
	if (ch.failedIndexes || ch.completedIndexes) && job.Spec.Completions != nil && st.FailedIndexes != nil {
		if err := indexesOverlap(st.CompletedIndexes, *st.FailedIndexes, *job.Spec.Completions); err != nil {
			errs = append(errs, field.Invalid(fldPath.Child("failedIndexes"), *st.FailedIndexes, err.Error()))
		}
	}
	if (ch.finished || ch.terminating) && st.Terminating != nil && *st.Terminating > 0 && isFinished {
		errs = append(errs, field.Invalid(fldPath.Child("terminating"), st.Terminating, "terminating>0 is invalid for finished job"))
	}
	if (ch.ready || ch.active) && st.Ready != nil && *st.Ready > st.Active {
		errs = append(errs, field.Invalid(fldPath.Child("ready"), *st.Ready, "cannot set more ready pods than active"))
	}
	if successCriteriaMet && failed {
		errs = append(errs, field.Invalid(condPath, field.OmitValueType{}, "cannot set SuccessCriteriaMet=True and Failed=true conditions"))
	}
	if successCriteriaMet && failureTarget {
		errs = append(errs, field.Invalid(condPath, field.OmitValueType{}, "cannot set SuccessCriteriaMet=True and FailureTarget=true conditions"))
	}
	if job.Spec.SuccessPolicy != nil && !successCriteriaMet && complete {
		errs = append(errs, field.Invalid(condPath, field.OmitValueType{}, "cannot set Complete=True for Job with SuccessPolicy unless SuccessCriteriaMet=True"))
	}
	return errs
}

// finished reports a job with a Complete or Failed condition that is True.
func finished(job *batchv1.Job) bool {
	return conditionTrue(job.Status.Conditions, batchv1.JobComplete) || conditionTrue(job.Status.Conditions, batchv1.JobFailed)
}

func conditionFalse(conditions []batchv1.JobCondition, t batchv1.JobConditionType) bool {
	for _, c := range conditions {
		if c.Type == t && c.Status == corev1.ConditionFalse {
			return true
		}
	}
	return false
}

func nonNegative(v int32, fldPath *field.Path) field.ErrorList {
	return apimachineryvalidation.ValidateNonnegativeField(int64(v), fldPath)
}

func equalPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func timesEqual(a, b *metav1.Time) bool {
	return a.Equal(b)
}
