package cronjob

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// nextScheduleDelta is added to every wake-up so that the controller
// wakes just after a scheduled time, not just before it.
const nextScheduleDelta = 100 * time.Millisecond

// manyMissed is upstream's bound: past 100 missed start times a CronJob
// warns TooManyMissedTimes (and still starts the most recent).
const manyMissed = 100

// Schedule is what the controller needs of a parsed schedule.
type Schedule interface {
	Next(time.Time) time.Time
}

// missed summarises the schedule between the last run and now.
type missed struct {
	// earliest is the time from which missed runs are counted: the last
	// scheduled run, or the creation, or now minus the starting deadline.
	earliest time.Time
	// mostRecent is the latest scheduled time not after now that has not
	// run, nil if there is none.
	mostRecent *time.Time
	// count is how many scheduled times were missed (0: none).
	count int64
}

var errTooFrequent = errors.New("time difference between two schedules is less than 1 second")

// mostRecentScheduleTime finds the latest unmet scheduled time, as
// upstream does without walking every missed time: it assumes evenly
// spaced times from the first two after earliest.
func mostRecentScheduleTime(cj *batchv1.CronJob, now time.Time, sched Schedule, withDeadline bool) (missed, error) {
	m := missed{earliest: cj.CreationTimestamp.Time}
	if cj.Status.LastScheduleTime != nil {
		m.earliest = cj.Status.LastScheduleTime.Time
	}
	if withDeadline && cj.Spec.StartingDeadlineSeconds != nil {
		if deadline := now.Add(-time.Duration(*cj.Spec.StartingDeadlineSeconds) * time.Second); deadline.After(m.earliest) {
			m.earliest = deadline
		}
	}
	t1 := sched.Next(m.earliest)
	t2 := sched.Next(t1)
	if now.Before(t1) {
		return m, nil
	}
	if now.Before(t2) {
		m.mostRecent = &t1
		return m, nil
	}
	between := int64(t2.Sub(t1).Round(time.Second).Seconds())
	if between < 1 {
		return m, errTooFrequent
	}
	elapsed := int64(now.Sub(t1).Seconds())
	m.count = elapsed/between + 1
	var recent time.Time
	from := t1.Add(time.Duration((m.count-2)*between) * time.Second)
	for t := sched.Next(from); !t.After(now); t = sched.Next(t) {
		recent = t
	}
	if !recent.IsZero() {
		m.mostRecent = &recent
	}
	return m, nil
}

// nextScheduleTime is the scheduled time to start now, if any; tooMany
// says more than 100 were missed.
func nextScheduleTime(cj *batchv1.CronJob, now time.Time, sched Schedule) (t *time.Time, tooMany bool, err error) {
	m, err := mostRecentScheduleTime(cj, now, sched, true)
	if m.mostRecent == nil || m.mostRecent.After(now) {
		return nil, false, err
	}
	return m.mostRecent, m.count > manyMissed, err
}

// untilNext is how long to wait for the next scheduled time.
func untilNext(cj *batchv1.CronJob, now time.Time, sched Schedule) time.Duration {
	m, err := mostRecentScheduleTime(cj, now, sched, false)
	from := now
	switch {
	case err != nil:
	case m.mostRecent != nil:
		from = *m.mostRecent
	case m.count == 0:
		from = m.earliest
	}
	return sched.Next(from).Add(nextScheduleDelta).Sub(now)
}

// formatSchedule prefixes the schedule with the CronJob's time zone,
// unless the schedule names one itself (unsupported, with a warning).
func formatSchedule(cj *batchv1.CronJob) (spec string, tzInSchedule bool) {
	if strings.Contains(cj.Spec.Schedule, "TZ") {
		return cj.Spec.Schedule, true
	}
	if cj.Spec.TimeZone != nil {
		if _, err := time.LoadLocation(*cj.Spec.TimeZone); err != nil {
			return cj.Spec.Schedule, false
		}
		return fmt.Sprintf("TZ=%s %s", *cj.Spec.TimeZone, cj.Spec.Schedule), false
	}
	return cj.Spec.Schedule, false
}

// jobName is <cronjob>-<scheduled time in minutes since the epoch>, so
// that one scheduled time makes at most one Job.
func jobName(cj *batchv1.CronJob, scheduled time.Time) string {
	return fmt.Sprintf("%s-%d", cj.Name, scheduled.Unix()/60)
}

// jobFor is the Job a CronJob starts at a scheduled time.
func jobFor(cj *batchv1.CronJob, scheduled time.Time) (*batchv1.Job, error) {
	tz := ""
	if cj.Spec.TimeZone != nil {
		tz = *cj.Spec.TimeZone
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: %w", tz, err)
	}
	labels := map[string]string{}
	for k, v := range cj.Spec.JobTemplate.Labels {
		labels[k] = v
	}
	annotations := map[string]string{}
	for k, v := range cj.Spec.JobTemplate.Annotations {
		annotations[k] = v
	}
	annotations[batchv1.CronJobScheduledTimestampAnnotation] = scheduled.In(loc).Format(time.RFC3339)
	t := true
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name:        jobName(cj, scheduled),
			Labels:      labels,
			Annotations: annotations,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: controllerKind.GroupVersion().String(), Kind: controllerKind.Kind,
				Name: cj.Name, UID: cj.UID, Controller: &t, BlockOwnerDeletion: &t,
			}},
		},
	}
	cj.Spec.JobTemplate.Spec.DeepCopyInto(&job.Spec)
	return job, nil
}

// finishedType is Complete or Failed for a finished Job, "" otherwise.
func finishedType(j *batchv1.Job) batchv1.JobConditionType {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == "True" {
			return c.Type
		}
	}
	return ""
}

// oldestBeyond returns the finished Jobs beyond the history limit, the
// oldest (by start time, unstarted last, then by name) first.
func oldestBeyond(jobs []*batchv1.Job, limit int32) []*batchv1.Job {
	n := len(jobs) - int(limit)
	if n <= 0 {
		return nil
	}
	sorted := append([]*batchv1.Job(nil), jobs...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i].Status.StartTime, sorted[j].Status.StartTime
		switch {
		case a == nil && b != nil:
			return false
		case a != nil && b == nil:
			return true
		case a == nil && b == nil, a.Equal(b):
			return sorted[i].Name < sorted[j].Name
		}
		return a.Before(b)
	})
	return sorted[:n]
}
