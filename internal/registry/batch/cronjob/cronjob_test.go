package cronjob

import (
	"context"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	. "github.com/kemudi/kemudi/internal/registry/apps/workload/workloadtest"
)

// newCronJob is the "hello" cron job of upstream's tutorial, defaulted.
func newCronJob() *batchv1.CronJob {
	cj := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "default"},
		Spec: batchv1.CronJobSpec{
			Schedule: "* * * * *",
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
				Template: PodTemplate(nil, corev1.RestartPolicyOnFailure),
			}},
		},
	}
	Default(cj)
	return cj
}

func TestDefault(t *testing.T) {
	cj := newCronJob()
	s := cj.Spec
	if s.ConcurrencyPolicy != batchv1.AllowConcurrent || *s.Suspend || *s.SuccessfulJobsHistoryLimit != 3 || *s.FailedJobsHistoryLimit != 1 {
		t.Errorf("defaults %s %v %d %d", s.ConcurrencyPolicy, *s.Suspend, *s.SuccessfulJobsHistoryLimit, *s.FailedJobsHistoryLimit)
	}
	// The job template is not a job: it gets no job defaults.
	if js := s.JobTemplate.Spec; js.Parallelism != nil || js.Completions != nil || js.BackoffLimit != nil || js.CompletionMode != nil {
		t.Errorf("job template got job defaults: %+v", js)
	}
	kept := &batchv1.CronJob{Spec: batchv1.CronJobSpec{ConcurrencyPolicy: batchv1.ForbidConcurrent, SuccessfulJobsHistoryLimit: new(int32(0))}}
	Default(kept)
	if kept.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent || *kept.Spec.SuccessfulJobsHistoryLimit != 0 {
		t.Errorf("set values changed: %+v", kept.Spec)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(cj *batchv1.CronJob)
		want   []Err
	}{
		{"valid", func(cj *batchv1.CronJob) {}, nil},
		{"descriptor", func(cj *batchv1.CronJob) { cj.Spec.Schedule = "@hourly" }, nil},
		{"every", func(cj *batchv1.CronJob) { cj.Spec.Schedule = "@every 1h30m" }, nil},
		{"time zone", func(cj *batchv1.CronJob) {
			cj.Spec.Schedule = "0 6 * * MON-FRI"
			cj.Spec.TimeZone = new("Asia/Jakarta")
		}, nil},
		{"legacy zone name", func(cj *batchv1.CronJob) { cj.Spec.TimeZone = new("Etc/GMT+5") }, nil},
		{"52 characters", func(cj *batchv1.CronJob) { cj.Name = strings.Repeat("a", 52) }, nil},
		{"no schedule", func(cj *batchv1.CronJob) { cj.Spec.Schedule = "" }, []Err{Required("spec.schedule")}},
		{"bad schedule", func(cj *batchv1.CronJob) { cj.Spec.Schedule = "every minute" }, []Err{Invalid("spec.schedule")}},
		{"minute 60", func(cj *batchv1.CronJob) { cj.Spec.Schedule = "60 * * * *" }, []Err{Invalid("spec.schedule")}},
		{"TZ in schedule", func(cj *batchv1.CronJob) { cj.Spec.Schedule = "TZ=UTC 0 0 * * *" }, []Err{Invalid("spec.schedule")}},
		{"CRON_TZ with a bad zone", func(cj *batchv1.CronJob) { cj.Spec.Schedule = "CRON_TZ=Nowhere 0 0 * * *" },
			[]Err{Invalid("spec.schedule"), Invalid("spec.schedule")}},
		{"53 characters", func(cj *batchv1.CronJob) { cj.Name = strings.Repeat("a", 53) }, []Err{Invalid("metadata.name")}},
		{"empty time zone", func(cj *batchv1.CronJob) { cj.Spec.TimeZone = new("") }, []Err{Invalid("spec.timeZone")}},
		{"unknown time zone", func(cj *batchv1.CronJob) { cj.Spec.TimeZone = new("Mars/Olympus_Mons") }, []Err{Invalid("spec.timeZone")}},
		{"malformed time zone", func(cj *batchv1.CronJob) { cj.Spec.TimeZone = new("../etc/passwd") }, []Err{Invalid("spec.timeZone")}},
		{"Local", func(cj *batchv1.CronJob) { cj.Spec.TimeZone = new("Local") }, []Err{Invalid("spec.timeZone")}},
		{"bad concurrency", func(cj *batchv1.CronJob) { cj.Spec.ConcurrencyPolicy = "Queue" }, []Err{NotSupported("spec.concurrencyPolicy")}},
		{"negative limits", func(cj *batchv1.CronJob) {
			cj.Spec.StartingDeadlineSeconds = new(int64(-1))
			cj.Spec.SuccessfulJobsHistoryLimit = new(int32(-1))
			cj.Spec.FailedJobsHistoryLimit = new(int32(-1))
		}, []Err{Invalid("spec.startingDeadlineSeconds"), Invalid("spec.successfulJobsHistoryLimit"), Invalid("spec.failedJobsHistoryLimit")}},
		{"selector", func(cj *batchv1.CronJob) {
			cj.Spec.JobTemplate.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}}
			cj.Spec.JobTemplate.Spec.ManualSelector = new(true)
		}, []Err{Invalid("spec.jobTemplate.spec.selector"), NotSupported("spec.jobTemplate.spec.manualSelector")}},
		{"job template rules", func(cj *batchv1.CronJob) {
			cj.Spec.JobTemplate.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways
			cj.Spec.JobTemplate.Spec.Parallelism = new(int32(-1))
		}, []Err{Required("spec.jobTemplate.spec.template.spec.restartPolicy"), Invalid("spec.jobTemplate.spec.parallelism")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cj := newCronJob()
			tt.mutate(cj)
			Expect(t, Validate(cj), tt.want...)
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	old := newCronJob()
	old.Name = strings.Repeat("a", 60) // created before the limit
	ok := old.DeepCopy()
	ok.Spec.Schedule = "*/5 * * * *"
	ok.Spec.Suspend = new(true)
	Expect(t, ValidateUpdate(ok, old))

	// A schedule stored with TZ may keep it, but not alongside timeZone.
	legacy := newCronJob()
	legacy.Spec.Schedule = "TZ=UTC 0 0 * * *"
	kept := legacy.DeepCopy()
	kept.Spec.Suspend = new(true)
	Expect(t, ValidateUpdate(kept, legacy))
	both := legacy.DeepCopy()
	both.Spec.TimeZone = new("UTC")
	Expect(t, ValidateUpdate(both, legacy), Invalid("spec.schedule"))
	if w := Resource().Hooks.Warnings(context.Background(), kept, legacy); len(w) != 1 {
		t.Errorf("warnings %q", w)
	}
}

func TestTable(t *testing.T) {
	cj := newCronJob()
	cj.CreationTimestamp = metav1.NewTime(time.Now().Add(-time.Hour))
	last := metav1.NewTime(time.Now().Add(-30 * time.Second))
	cj.Status = batchv1.CronJobStatus{LastScheduleTime: &last, Active: []corev1.ObjectReference{{Name: "hello-29012345"}}}
	row, err := Resource().Table.Row(cj)
	if err != nil {
		t.Fatal(err)
	}
	want := []interface{}{"hello", "* * * * *", "<none>", "False", int64(1), "30s", "60m", "web", "nginx:1.27", "<none>"}
	if len(row) != len(want) {
		t.Fatalf("row %v", row)
	}
	for i := range want {
		if row[i] != want[i] {
			t.Errorf("cell %d = %#v, want %#v", i, row[i], want[i])
		}
	}
	fresh := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "x"}, Spec: batchv1.CronJobSpec{TimeZone: new("UTC")}}
	if row, _ := Resource().Table.Row(fresh); row[2] != "UTC" || row[3] != "<unset>" || row[5] != "<none>" {
		t.Errorf("row %v", row)
	}
}
