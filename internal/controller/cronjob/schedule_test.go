package cronjob

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/registry/batch/cronjob/schedule"
)

func ptr[T any](v T) *T { return &v }

func mustParse(t *testing.T, s string) *schedule.Schedule {
	t.Helper()
	sched, err := schedule.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return sched
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestNextScheduleTime(t *testing.T) {
	created := at("2026-05-01T10:00:30Z")
	for _, tc := range []struct {
		name     string
		schedule string
		last     string // lastScheduleTime
		deadline *int64
		now      string
		want     string // "" for none
		tooMany  bool
	}{
		{"not yet", "*/5 * * * *", "", nil, "2026-05-01T10:04:00Z", "", false},
		{"first time due", "*/5 * * * *", "", nil, "2026-05-01T10:05:10Z", "2026-05-01T10:05:00Z", false},
		{"already ran", "*/5 * * * *", "2026-05-01T10:05:00Z", nil, "2026-05-01T10:06:00Z", "", false},
		{"several missed: the latest", "*/5 * * * *", "2026-05-01T10:05:00Z", nil, "2026-05-01T10:27:00Z", "2026-05-01T10:25:00Z", false},
		{"too many missed", "* * * * *", "", nil, "2026-05-01T13:00:00Z", "2026-05-01T13:00:00Z", true},
		{"deadline bounds the count", "* * * * *", "", ptr(int64(200)), "2026-05-01T13:00:00Z", "2026-05-01T13:00:00Z", false},
		{"deadline passed the only time", "0 10 * * *", "", ptr(int64(60)), "2026-05-02T10:05:00Z", "", false},
		{"hourly", "@hourly", "", nil, "2026-05-01T11:00:01Z", "2026-05-01T11:00:00Z", false},
	} {
		cj := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(created)}}
		cj.Spec.StartingDeadlineSeconds = tc.deadline
		if tc.last != "" {
			cj.Status.LastScheduleTime = &metav1.Time{Time: at(tc.last)}
		}
		got, tooMany, err := nextScheduleTime(cj, at(tc.now), mustParse(t, tc.schedule))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		switch {
		case tc.want == "" && got != nil:
			t.Errorf("%s: got %v, want none", tc.name, got)
		case tc.want != "" && (got == nil || !got.Equal(at(tc.want))):
			t.Errorf("%s: got %v, want %s", tc.name, got, tc.want)
		}
		if tooMany != tc.tooMany {
			t.Errorf("%s: tooMany %v", tc.name, tooMany)
		}
	}
}

func TestUntilNext(t *testing.T) {
	cj := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(at("2026-05-01T10:00:30Z"))}}
	sched := mustParse(t, "*/5 * * * *")
	if got, want := untilNext(cj, at("2026-05-01T10:01:00Z"), sched), 4*time.Minute+nextScheduleDelta; got != want {
		t.Errorf("before the first run: %v, want %v", got, want)
	}
	cj.Status.LastScheduleTime = &metav1.Time{Time: at("2026-05-01T10:05:00Z")}
	if got, want := untilNext(cj, at("2026-05-01T10:05:01Z"), sched), 4*time.Minute+59*time.Second+nextScheduleDelta; got != want {
		t.Errorf("after a run: %v, want %v", got, want)
	}
}

func TestJobFor(t *testing.T) {
	cj := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "backup", Namespace: "ns", UID: "u"}}
	cj.Spec.TimeZone = ptr("Asia/Jakarta")
	cj.Spec.JobTemplate.Labels = map[string]string{"app": "backup"}
	scheduled := at("2026-05-01T10:05:00Z")
	j, err := jobFor(cj, scheduled)
	if err != nil {
		t.Fatal(err)
	}
	if j.Name != "backup-29627165" {
		t.Errorf("name %s", j.Name)
	}
	if got := j.Annotations[batchv1.CronJobScheduledTimestampAnnotation]; got != "2026-05-01T17:05:00+07:00" {
		t.Errorf("scheduled timestamp %s", got)
	}
	if j.Labels["app"] != "backup" || !metav1.IsControlledBy(j, cj) {
		t.Errorf("job %+v", j.ObjectMeta)
	}
	cj.Spec.TimeZone = ptr("Mars/Olympus")
	if _, err := jobFor(cj, scheduled); err == nil {
		t.Error("unknown time zone accepted")
	}
}

func TestOldestBeyond(t *testing.T) {
	job := func(name string, start string) *batchv1.Job {
		j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if start != "" {
			j.Status.StartTime = &metav1.Time{Time: at(start)}
		}
		return j
	}
	jobs := []*batchv1.Job{
		job("c", "2026-05-01T10:03:00Z"),
		job("never", ""),
		job("a", "2026-05-01T10:01:00Z"),
		job("b", "2026-05-01T10:02:00Z"),
	}
	got := oldestBeyond(jobs, 2)
	if len(got) != 2 || got[0].Name != "a" || got[1].Name != "b" {
		t.Errorf("oldest beyond 2: %v", got)
	}
	if got := oldestBeyond(jobs, 0); len(got) != 4 || got[3].Name != "never" {
		t.Errorf("limit 0 removes all, unstarted last: %v", got)
	}
	if got := oldestBeyond(jobs, 10); got != nil {
		t.Errorf("under the limit: %v", got)
	}
}
