package job_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/simnode"
	"github.com/kemudi/kemudi/internal/simnode/simnodetest"
)

// exitCode sets the exit code of a pod that fails-after (default 1);
// failIndex makes the pod of that completion index fail at once and the
// others succeed.
const (
	exitCode  = "test.kemudi.io/exit-code"
	failIndex = "test.kemudi.io/fail-index"
)

// startCluster runs the control plane (scheduler and controller
// manager) and two simulated nodes that finish pods as their
// complete-after and fail-after annotations say.
func startCluster(t *testing.T, ns string) *clustertest.Server {
	t.Helper()
	s := clustertest.Start(t)
	s.RunControlPlane("scheduler", "controller-manager")
	if _, err := s.Client.CoreV1().Namespaces().Create(context.Background(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	simnodetest.Start(t, s.Config, simnode.Options{Count: 2, Finish: func(p *corev1.Pod) (simnode.Finish, bool) {
		if ix, ok := p.Annotations[failIndex]; ok {
			if p.Labels[batchv1.JobCompletionIndexAnnotation] == ix {
				return simnode.Finish{Phase: corev1.PodFailed, ExitCode: 1}, true
			}
			return simnode.Finish{Phase: corev1.PodSucceeded}, true
		}
		f, ok := simnode.DefaultFinish(p)
		if code, err := strconv.Atoi(p.Annotations[exitCode]); err == nil && ok && f.Phase == corev1.PodFailed {
			f.ExitCode = int32(code)
		}
		return f, ok
	}})
	return s
}

func newJob(name string, mutate func(*batchv1.Job)) *batchv1.Job {
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{simnode.AnnotationCompleteAfter: "0s"}},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers:    []corev1.Container{{Name: "c", Image: "busybox"}},
				},
			},
		},
	}
	if mutate != nil {
		mutate(j)
	}
	return j
}

func ptr[T any](v T) *T { return &v }

func waitJob(t *testing.T, s *clustertest.Server, ns, name string, timeout time.Duration, cond func(*batchv1.Job) bool) *batchv1.Job {
	t.Helper()
	var last *batchv1.Job
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		j, err := s.Client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		last = j
		return cond(j), nil
	})
	if err != nil {
		t.Fatalf("job %s: %v; status %+v", name, err, last.Status)
	}
	return last
}

func hasCondition(j *batchv1.Job, typ batchv1.JobConditionType, reason string) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == typ && c.Status == corev1.ConditionTrue && (reason == "" || c.Reason == reason) {
			return true
		}
	}
	return false
}

// A user creates a Job with kubectl and waits for it as upstream's docs
// show; its pods lose their tracking finalizers once counted.
func TestJobCompletesWithKubectl(t *testing.T) {
	s := startCluster(t, "batch")
	s.MustKubectl("-n", "batch", "create", "job", "hello", "--image=busybox", "--", "true")
	// kubectl create job has no way to annotate the template: patch it
	// in before the pod is made? The pod exists already; annotate it.
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		pods, err := s.Client.CoreV1().Pods("batch").List(ctx, metav1.ListOptions{LabelSelector: "job-name=hello"})
		if err != nil || len(pods.Items) == 0 {
			return false, err
		}
		_, err = s.Kubectl("-n", "batch", "annotate", "pod", pods.Items[0].Name, simnode.AnnotationCompleteAfter+"=0s")
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("job pod: %v", err)
	}
	s.MustKubectl("-n", "batch", "wait", "--for=condition=complete", "job/hello", "--timeout=60s")
	j := waitJob(t, s, "batch", "hello", 10*time.Second, func(j *batchv1.Job) bool { return j.Status.Succeeded == 1 })
	if j.Status.CompletionTime == nil || j.Status.StartTime == nil || j.Status.Active != 0 {
		t.Errorf("status = %+v", j.Status)
	}
	if !hasCondition(j, batchv1.JobSuccessCriteriaMet, batchv1.JobReasonCompletionsReached) || !hasCondition(j, batchv1.JobComplete, batchv1.JobReasonCompletionsReached) {
		t.Errorf("conditions = %+v", j.Status.Conditions)
	}
	pods, err := s.Client.CoreV1().Pods("batch").List(context.Background(), metav1.ListOptions{LabelSelector: "job-name=hello"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		for _, f := range p.Finalizers {
			if f == batchv1.JobTrackingFinalizer {
				t.Errorf("pod %s kept the tracking finalizer", p.Name)
			}
		}
	}
	events := s.MustKubectl("-n", "batch", "get", "events", "--field-selector", "involvedObject.kind=Job", "-o", "custom-columns=REASON:.reason")
	for _, want := range []string{"SuccessfulCreate", "Completed"} {
		if !strings.Contains(events, want) {
			t.Errorf("events lack %s:\n%s", want, events)
		}
	}
}

// An Indexed Job runs each index once, with its index in an annotation,
// a label and the hostname, no more than parallelism at a time.
func TestIndexedJob(t *testing.T) {
	s := startCluster(t, "idx")
	ctx := context.Background()
	_, err := s.Client.BatchV1().Jobs("idx").Create(ctx, newJob("indexed", func(j *batchv1.Job) {
		j.Spec.Completions = ptr(int32(5))
		j.Spec.Parallelism = ptr(int32(2))
		j.Spec.CompletionMode = ptr(batchv1.IndexedCompletion)
	}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	j := waitJob(t, s, "idx", "indexed", 60*time.Second, func(j *batchv1.Job) bool { return hasCondition(j, batchv1.JobComplete, "") })
	if j.Status.CompletedIndexes != "0-4" || j.Status.Succeeded != 5 {
		t.Errorf("completedIndexes %q succeeded %d, want 0-4 and 5", j.Status.CompletedIndexes, j.Status.Succeeded)
	}
	pods, err := s.Client.CoreV1().Pods("idx").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range pods.Items {
		ix := p.Annotations[batchv1.JobCompletionIndexAnnotation]
		if p.Labels[batchv1.JobCompletionIndexAnnotation] != ix || p.Spec.Hostname != "indexed-"+ix || !strings.HasPrefix(p.Name, "indexed-"+ix+"-") {
			t.Errorf("pod %s: index %q, label %q, hostname %q", p.Name, ix, p.Labels[batchv1.JobCompletionIndexAnnotation], p.Spec.Hostname)
		}
		if seen[ix] {
			t.Errorf("index %s ran twice", ix)
		}
		seen[ix] = true
	}
	if len(seen) != 5 {
		t.Errorf("indexes run: %v", seen)
	}
}

// A Job whose pod fails with backoffLimit 0 fails at once, with
// upstream's reason, and deletes nothing it should keep.
func TestJobBackoffLimitExceeded(t *testing.T) {
	s := startCluster(t, "fail")
	_, err := s.Client.BatchV1().Jobs("fail").Create(context.Background(), newJob("boom", func(j *batchv1.Job) {
		j.Spec.BackoffLimit = ptr(int32(0))
		j.Spec.Template.Annotations = map[string]string{simnode.AnnotationFailAfter: "0s"}
	}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	j := waitJob(t, s, "fail", "boom", 60*time.Second, func(j *batchv1.Job) bool { return hasCondition(j, batchv1.JobFailed, "") })
	if !hasCondition(j, batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded) || !hasCondition(j, batchv1.JobFailureTarget, batchv1.JobReasonBackoffLimitExceeded) {
		t.Errorf("conditions = %+v", j.Status.Conditions)
	}
	if j.Status.Failed != 1 || j.Status.Active != 0 || j.Status.CompletionTime != nil {
		t.Errorf("status = %+v", j.Status)
	}
	out := s.MustKubectl("-n", "fail", "get", "events", "--field-selector", "involvedObject.name=boom", "-o", "custom-columns=REASON:.reason,MSG:.message")
	if !strings.Contains(out, "BackoffLimitExceeded") || !strings.Contains(out, "Job has reached the specified backoff limit") {
		t.Errorf("events:\n%s", out)
	}
}

// A FailJob rule of the pod failure policy fails the Job on the first
// matching exit code.
func TestJobPodFailurePolicy(t *testing.T) {
	s := startCluster(t, "pfp")
	_, err := s.Client.BatchV1().Jobs("pfp").Create(context.Background(), newJob("policy", func(j *batchv1.Job) {
		j.Spec.BackoffLimit = ptr(int32(6))
		j.Spec.Template.Annotations = map[string]string{simnode.AnnotationFailAfter: "0s", exitCode: "42"}
		j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
			Action:      batchv1.PodFailurePolicyActionFailJob,
			OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42}},
		}}}
	}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	j := waitJob(t, s, "pfp", "policy", 60*time.Second, func(j *batchv1.Job) bool { return hasCondition(j, batchv1.JobFailed, "") })
	var msg string
	for _, c := range j.Status.Conditions {
		if c.Type == batchv1.JobFailed {
			msg = c.Message
			if c.Reason != batchv1.JobReasonPodFailurePolicy {
				t.Errorf("reason %q", c.Reason)
			}
		}
	}
	if !strings.Contains(msg, "failed with exit code 42 matching FailJob rule at index 0") {
		t.Errorf("message %q", msg)
	}
}

// activeDeadlineSeconds ends a Job whose pods run too long; suspend
// keeps a Job from running and resuming starts it.
func TestJobDeadlineAndSuspend(t *testing.T) {
	s := startCluster(t, "deadline")
	ctx := context.Background()
	_, err := s.Client.BatchV1().Jobs("deadline").Create(ctx, newJob("slow", func(j *batchv1.Job) {
		j.Spec.ActiveDeadlineSeconds = ptr(int64(2))
		j.Spec.Parallelism = ptr(int32(2))
		j.Spec.Template.Annotations = nil // runs forever
	}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	j := waitJob(t, s, "deadline", "slow", 60*time.Second, func(j *batchv1.Job) bool { return hasCondition(j, batchv1.JobFailed, "") })
	if !hasCondition(j, batchv1.JobFailed, batchv1.JobReasonDeadlineExceeded) || j.Status.Failed != 2 || j.Status.Active != 0 {
		t.Errorf("status = %+v", j.Status)
	}

	_, err = s.Client.BatchV1().Jobs("deadline").Create(ctx, newJob("later", func(j *batchv1.Job) {
		j.Spec.Suspend = ptr(true)
	}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	j = waitJob(t, s, "deadline", "later", 30*time.Second, func(j *batchv1.Job) bool { return hasCondition(j, batchv1.JobSuspended, "JobSuspended") })
	if j.Status.StartTime != nil || j.Status.Active != 0 {
		t.Errorf("suspended job started: %+v", j.Status)
	}
	s.MustKubectl("-n", "deadline", "patch", "job", "later", "--type=merge", "-p", `{"spec":{"suspend":false}}`)
	j = waitJob(t, s, "deadline", "later", 60*time.Second, func(j *batchv1.Job) bool { return hasCondition(j, batchv1.JobComplete, "") })
	for _, c := range j.Status.Conditions {
		if c.Type == batchv1.JobSuspended && (c.Status != corev1.ConditionFalse || c.Reason != "JobResumed") {
			t.Errorf("suspended condition after resume: %+v", c)
		}
	}
}

// With backoffLimitPerIndex, a failing index fails on its own while the
// others complete; the Job then fails with FailedIndexes.
func TestJobBackoffLimitPerIndex(t *testing.T) {
	s := startCluster(t, "perindex")
	_, err := s.Client.BatchV1().Jobs("perindex").Create(context.Background(), newJob("per-index", func(j *batchv1.Job) {
		j.Spec.Completions = ptr(int32(3))
		j.Spec.Parallelism = ptr(int32(3))
		j.Spec.CompletionMode = ptr(batchv1.IndexedCompletion)
		j.Spec.BackoffLimitPerIndex = ptr(int32(0))
		j.Spec.Template.Annotations = map[string]string{failIndex: "1"}
	}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	j := waitJob(t, s, "perindex", "per-index", 60*time.Second, func(j *batchv1.Job) bool { return hasCondition(j, batchv1.JobFailed, "") })
	if !hasCondition(j, batchv1.JobFailed, batchv1.JobReasonFailedIndexes) {
		t.Errorf("conditions %+v", j.Status.Conditions)
	}
	if j.Status.FailedIndexes == nil || *j.Status.FailedIndexes != "1" || j.Status.CompletedIndexes != "0,2" || j.Status.Succeeded != 2 || j.Status.Failed != 1 {
		t.Errorf("failedIndexes %v completedIndexes %q succeeded %d failed %d", j.Status.FailedIndexes, j.Status.CompletedIndexes, j.Status.Succeeded, j.Status.Failed)
	}
}

// Suspending a running Job deletes its pods and clears its start time;
// resuming starts them again.
func TestJobSuspendRunning(t *testing.T) {
	s := startCluster(t, "pause")
	ctx := context.Background()
	_, err := s.Client.BatchV1().Jobs("pause").Create(ctx, newJob("long", func(j *batchv1.Job) {
		j.Spec.Parallelism = ptr(int32(2))
		j.Spec.Completions = ptr(int32(4))
		j.Spec.Template.Annotations = nil // runs until stopped
	}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitJob(t, s, "pause", "long", 60*time.Second, func(j *batchv1.Job) bool {
		return j.Status.Active == 2 && j.Status.Ready != nil && *j.Status.Ready == 2
	})
	s.MustKubectl("-n", "pause", "patch", "job", "long", "--type=merge", "-p", `{"spec":{"suspend":true}}`)
	j := waitJob(t, s, "pause", "long", 60*time.Second, func(j *batchv1.Job) bool {
		return hasCondition(j, batchv1.JobSuspended, "JobSuspended") && j.Status.Active == 0 && j.Status.Terminating != nil && *j.Status.Terminating == 0
	})
	if j.Status.StartTime != nil {
		t.Errorf("suspended job kept its start time %v", j.Status.StartTime)
	}
	s.MustKubectl("-n", "pause", "patch", "job", "long", "--type=merge", "-p", `{"spec":{"suspend":false}}`)
	j = waitJob(t, s, "pause", "long", 60*time.Second, func(j *batchv1.Job) bool { return j.Status.Active == 2 })
	if j.Status.StartTime == nil {
		t.Error("resumed job has no start time")
	}
	out := s.MustKubectl("-n", "pause", "get", "events", "--field-selector", "involvedObject.name=long", "-o", "custom-columns=REASON:.reason")
	for _, want := range []string{"Suspended", "Resumed", "SuccessfulDelete"} {
		if !strings.Contains(out, want) {
			t.Errorf("events lack %s:\n%s", want, out)
		}
	}
}
