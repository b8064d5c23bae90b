package cronjob_test

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller"
	"github.com/kemudi/kemudi/internal/controller/cronjob"
	"github.com/kemudi/kemudi/internal/controller/manager"
	"github.com/kemudi/kemudi/internal/simnode"
	"github.com/kemudi/kemudi/internal/simnode/simnodetest"
)

const ns = "cron"

type fixture struct {
	s     *clustertest.Server
	clock *clocktesting.FakeClock
	cc    *cronjob.Controller
}

// start runs the controller manager without its CronJob controller, and
// a CronJob controller on a fake clock in its place.
func start(t *testing.T) *fixture {
	t.Helper()
	s := clustertest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	done := make(chan struct{})
	opts := manager.DefaultOptions()
	opts.Controllers, opts.LeaderElect, opts.Log = []string{"*", "-cronjob"}, false, log
	go func() {
		defer close(done)
		if err := manager.Run(ctx, s.Config, opts); err != nil {
			t.Errorf("controller manager: %v", err)
		}
	}()
	f := &fixture{s: s, clock: clocktesting.NewFakeClock(time.Now())}
	c := controller.NewContext(s.Client, log)
	c.StartEvents(ctx)
	c.Clock = f.clock
	cc, err := cronjob.New(c)
	if err != nil {
		t.Fatal(err)
	}
	f.cc = cc
	c.Informers.Start(ctx.Done())
	c.Informers.WaitForCacheSync(ctx.Done())
	ran := make(chan struct{})
	go func() { defer close(ran); _ = cc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		<-ran
		c.Informers.Shutdown()
	})
	if _, err := s.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	simnodetest.Start(t, s.Config, simnode.Options{Count: 1})
	s.RunControlPlane("scheduler")
	return f
}

// tick moves the fake clock past the next minute and has the CronJob
// looked at.
func (f *fixture) tick(name string) {
	f.clock.Step(time.Minute)
	f.cc.Resync(ns, name)
}

func newCronJob(name string, policy batchv1.ConcurrencyPolicy, finish bool) *batchv1.CronJob {
	annotations := map[string]string{}
	if finish {
		annotations[simnode.AnnotationCompleteAfter] = "0s"
	}
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.CronJobSpec{
			Schedule:          "* * * * *",
			ConcurrencyPolicy: policy,
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Annotations: annotations},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers:    []corev1.Container{{Name: "c", Image: "busybox"}},
				},
			}}},
		},
	}
}

func (f *fixture) waitCronJob(t *testing.T, name string, cond func(*batchv1.CronJob, []batchv1.Job) bool) (*batchv1.CronJob, []batchv1.Job) {
	t.Helper()
	var cj *batchv1.CronJob
	var jobs []batchv1.Job
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		var err error
		if cj, err = f.s.Client.BatchV1().CronJobs(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
			return false, err
		}
		list, err := f.s.Client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		jobs = nil
		for _, j := range list.Items {
			if metav1.IsControlledBy(&j, cj) && j.DeletionTimestamp == nil {
				jobs = append(jobs, j)
			}
		}
		return cond(cj, jobs), nil
	})
	if err != nil {
		t.Fatalf("cronjob %s: %v; status %+v, %d jobs", name, err, cj.Status, len(jobs))
	}
	return cj, jobs
}

func complete(j batchv1.Job) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == batchv1.JobComplete && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// A scheduled run starts a Job named after its minute, with the
// scheduled-timestamp annotation; its success shows in the status; the
// history limit keeps one; kubectl can start one by hand.
func TestCronJobRunsOnSchedule(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	cj := newCronJob("tick", batchv1.AllowConcurrent, true)
	cj.Spec.SuccessfulJobsHistoryLimit = ptr(int32(1))
	cj, err := f.s.Client.BatchV1().CronJobs(ns).Create(ctx, cj, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f.tick("tick")
	got, jobs := f.waitCronJob(t, "tick", func(cj *batchv1.CronJob, jobs []batchv1.Job) bool {
		return cj.Status.LastSuccessfulTime != nil && len(cj.Status.Active) == 0 && len(jobs) == 1
	})
	scheduled := got.Status.LastScheduleTime.Time
	if want := "tick-" + strconv.FormatInt(scheduled.Unix()/60, 10); jobs[0].Name != want {
		t.Errorf("job %s, want %s", jobs[0].Name, want)
	}
	if ts := jobs[0].Annotations[batchv1.CronJobScheduledTimestampAnnotation]; ts != scheduled.UTC().Format(time.RFC3339) {
		t.Errorf("scheduled-timestamp %q, want %s", ts, scheduled.UTC().Format(time.RFC3339))
	}
	first := jobs[0].Name

	// The next run replaces the first in the one-job history.
	f.tick("tick")
	f.waitCronJob(t, "tick", func(cj *batchv1.CronJob, jobs []batchv1.Job) bool {
		return cj.Status.LastScheduleTime.After(scheduled) && len(cj.Status.Active) == 0 && len(jobs) == 1 && jobs[0].Name != first && complete(jobs[0])
	})

	out := f.s.MustKubectl("-n", ns, "create", "job", "by-hand", "--from=cronjob/tick")
	if !strings.Contains(out, "job.batch/by-hand created") {
		t.Errorf("kubectl create job: %s", out)
	}
	j, err := f.s.Client.BatchV1().Jobs(ns).Get(ctx, "by-hand", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if j.Annotations["cronjob.kubernetes.io/instantiate"] != "manual" || !metav1.IsControlledBy(j, cj) {
		t.Errorf("manual job: %+v", j.ObjectMeta)
	}
	events := f.s.MustKubectl("-n", ns, "get", "events", "--field-selector", "involvedObject.kind=CronJob", "-o", "custom-columns=REASON:.reason")
	for _, want := range []string{"SuccessfulCreate", "SawCompletedJob", "SuccessfulDelete"} {
		if !strings.Contains(events, want) {
			t.Errorf("events lack %s:\n%s", want, events)
		}
	}
}

// Forbid skips a run while one is active; Replace deletes the active
// Job and starts another.
func TestCronJobConcurrencyPolicies(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	for _, cj := range []*batchv1.CronJob{
		newCronJob("forbid", batchv1.ForbidConcurrent, false),
		newCronJob("replace", batchv1.ReplaceConcurrent, false),
	} {
		if _, err := f.s.Client.BatchV1().CronJobs(ns).Create(ctx, cj, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Step(time.Minute)
	f.cc.Resync(ns, "forbid")
	f.cc.Resync(ns, "replace")
	_, forbidJobs := f.waitCronJob(t, "forbid", func(cj *batchv1.CronJob, jobs []batchv1.Job) bool {
		return len(cj.Status.Active) == 1 && len(jobs) == 1
	})
	_, replaceJobs := f.waitCronJob(t, "replace", func(cj *batchv1.CronJob, jobs []batchv1.Job) bool {
		return len(cj.Status.Active) == 1 && len(jobs) == 1
	})

	f.clock.Step(time.Minute)
	f.cc.Resync(ns, "forbid")
	f.cc.Resync(ns, "replace")
	f.waitCronJob(t, "replace", func(cj *batchv1.CronJob, jobs []batchv1.Job) bool {
		return len(cj.Status.Active) == 1 && cj.Status.Active[0].Name != replaceJobs[0].Name && len(jobs) == 1
	})
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		out, err := f.s.Kubectl("-n", ns, "get", "events", "--field-selector", "involvedObject.name=forbid", "-o", "custom-columns=REASON:.reason")
		return err == nil && strings.Contains(out, "JobAlreadyActive"), nil
	})
	if err != nil {
		t.Fatalf("no JobAlreadyActive event for the Forbid CronJob")
	}
	_, jobs := f.waitCronJob(t, "forbid", func(*batchv1.CronJob, []batchv1.Job) bool { return true })
	if len(jobs) != 1 || jobs[0].Name != forbidJobs[0].Name {
		t.Errorf("Forbid started another job: %d jobs", len(jobs))
	}
	if _, err := f.s.Client.BatchV1().Jobs(ns).Get(ctx, replaceJobs[0].Name, metav1.GetOptions{}); err == nil {
		// Deleted in the background: it may still be going.
		err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			_, err := f.s.Client.BatchV1().Jobs(ns).Get(ctx, replaceJobs[0].Name, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
		if err != nil {
			t.Errorf("Replace kept the replaced job")
		}
	}
}

// A schedule that does not parse is refused with a field error, and
// nothing runs.
func TestCronJobBadSchedule(t *testing.T) {
	f := start(t)
	_, err := f.s.Kubectl("-n", ns, "create", "cronjob", "bad", "--image=busybox", "--schedule=every day at noon")
	if err == nil {
		t.Fatal("a bad schedule was accepted")
	}
	if !strings.Contains(err.Error(), "spec.schedule") {
		t.Errorf("error does not name the field: %v", err)
	}
	_, err = f.s.Kubectl("-n", ns, "create", "cronjob", "bad", "--image=busybox", "--schedule=61 * * * *")
	if err == nil || !strings.Contains(err.Error(), "spec.schedule") {
		t.Errorf("minute 61: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }
