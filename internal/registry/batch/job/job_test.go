package job

import (
	"context"
	"math"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	. "github.com/kemudi/kemudi/internal/registry/apps/workload/workloadtest"
)

const uid = types.UID("6f3e1c2a-9d1b-4c1e-8a3f-2b7d5e9c0a11")

// newJob is `kubectl create job pi --image=perl`, as the server stores it:
// defaulted, given a UID, then prepared for create.
func newJob() *batchv1.Job {
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: "default", UID: uid},
		Spec:       batchv1.JobSpec{Template: PodTemplate(nil, corev1.RestartPolicyNever)},
	}
	Default(job)
	PrepareForCreate(job)
	return job
}

func TestDefault(t *testing.T) {
	job := newJob()
	s := job.Spec
	if *s.Parallelism != 1 || *s.Completions != 1 || *s.BackoffLimit != 6 {
		t.Errorf("parallelism/completions/backoffLimit %d/%d/%d, want 1/1/6", *s.Parallelism, *s.Completions, *s.BackoffLimit)
	}
	if *s.CompletionMode != batchv1.NonIndexedCompletion || *s.Suspend || *s.ManualSelector || *s.PodReplacementPolicy != batchv1.TerminatingOrFailed {
		t.Errorf("completionMode %s suspend %v manualSelector %v podReplacementPolicy %s",
			*s.CompletionMode, *s.Suspend, *s.ManualSelector, *s.PodReplacementPolicy)
	}

	// Parallel work queue: parallelism set, completions left unset.
	queue := &batchv1.Job{Spec: batchv1.JobSpec{Parallelism: new(int32(5))}}
	Default(queue)
	if queue.Spec.Completions != nil || *queue.Spec.Parallelism != 5 {
		t.Errorf("work queue job: completions %v parallelism %d", queue.Spec.Completions, *queue.Spec.Parallelism)
	}
	fixed := &batchv1.Job{Spec: batchv1.JobSpec{Completions: new(int32(4))}}
	Default(fixed)
	if *fixed.Spec.Parallelism != 1 {
		t.Errorf("fixed completions job: parallelism %d, want 1", *fixed.Spec.Parallelism)
	}

	perIndex := &batchv1.Job{Spec: batchv1.JobSpec{
		BackoffLimitPerIndex: new(int32(1)),
		PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
			Action:          batchv1.PodFailurePolicyActionIgnore,
			OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget}},
		}}},
	}}
	Default(perIndex)
	if *perIndex.Spec.BackoffLimit != math.MaxInt32 || *perIndex.Spec.PodReplacementPolicy != batchv1.Failed {
		t.Errorf("backoffLimit %d podReplacementPolicy %s", *perIndex.Spec.BackoffLimit, *perIndex.Spec.PodReplacementPolicy)
	}
	if got := perIndex.Spec.PodFailurePolicy.Rules[0].OnPodConditions[0].Status; got != corev1.ConditionTrue {
		t.Errorf("pod condition pattern status %q, want True", got)
	}

	labeled := &batchv1.Job{Spec: batchv1.JobSpec{Template: PodTemplate(map[string]string{"app": "pi"}, corev1.RestartPolicyNever)}}
	Default(labeled)
	if labeled.Labels["app"] != "pi" {
		t.Errorf("job labels %v, want the template's", labeled.Labels)
	}
}

func TestPrepareForCreate(t *testing.T) {
	job := newJob()
	want := map[string]string{
		"batch.kubernetes.io/controller-uid": string(uid),
		"batch.kubernetes.io/job-name":       "pi",
		"controller-uid":                     string(uid),
		"job-name":                           "pi",
	}
	for k, v := range want {
		if job.Spec.Template.Labels[k] != v {
			t.Errorf("template label %s = %q, want %q", k, job.Spec.Template.Labels[k], v)
		}
		if job.Labels[k] != v {
			t.Errorf("job label %s = %q, want %q", k, job.Labels[k], v)
		}
	}
	if got := job.Spec.Selector.MatchLabels; len(got) != 1 || got["batch.kubernetes.io/controller-uid"] != string(uid) {
		t.Errorf("selector %v", got)
	}

	// A job whose author labelled it keeps its own labels.
	own := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "pi", UID: uid, Labels: map[string]string{"team": "math"}},
		Spec:       batchv1.JobSpec{Template: PodTemplate(nil, corev1.RestartPolicyNever)},
	}
	Default(own)
	PrepareForCreate(own)
	if len(own.Labels) != 1 {
		t.Errorf("labels %v, want only team", own.Labels)
	}

	manual := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "pi", UID: uid},
		Spec: batchv1.JobSpec{
			ManualSelector: new(true),
			Selector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app": "pi"}},
			Template:       PodTemplate(map[string]string{"app": "pi"}, corev1.RestartPolicyOnFailure),
			Scheduling:     &batchv1.JobSchedulingConfiguration{},
		},
	}
	Default(manual)
	PrepareForCreate(manual)
	if len(manual.Spec.Template.Labels) != 1 || len(manual.Spec.Selector.MatchLabels) != 1 {
		t.Errorf("manual selector job got generated labels: %v %v", manual.Spec.Template.Labels, manual.Spec.Selector)
	}
	if manual.Spec.Scheduling != nil {
		t.Errorf("alpha spec.scheduling kept")
	}
	Expect(t, Validate(manual))
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(j *batchv1.Job)
		want   []Err
	}{
		{"valid", func(j *batchv1.Job) {}, nil},
		{"OnFailure", func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure }, nil},
		{"indexed", func(j *batchv1.Job) {
			j.Spec.CompletionMode = new(batchv1.IndexedCompletion)
			j.Spec.Completions = new(int32(5))
			j.Spec.Parallelism = new(int32(3))
			j.Spec.BackoffLimitPerIndex = new(int32(1))
			j.Spec.MaxFailedIndexes = new(int32(2))
			j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{{SucceededIndexes: new("0,2-4"), SucceededCount: new(int32(2))}}}
		}, nil},
		{"restartPolicy Always", func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways },
			[]Err{Required("spec.template.spec.restartPolicy")}},
		// The pod spec's own check and the job's both report it, as upstream.
		{"restartPolicy unknown", func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = "Sometimes" },
			[]Err{NotSupported("spec.template.spec.restartPolicy"), NotSupported("spec.template.spec.restartPolicy")}},
		{"negative counts", func(j *batchv1.Job) {
			j.Spec.Parallelism = new(int32(-1))
			j.Spec.Completions = new(int32(-1))
			j.Spec.BackoffLimit = new(int32(-1))
			j.Spec.ActiveDeadlineSeconds = new(int64(-1))
			j.Spec.TTLSecondsAfterFinished = new(int32(-1))
		}, []Err{Invalid("spec.parallelism"), Invalid("spec.completions"), Invalid("spec.backoffLimit"),
			Invalid("spec.activeDeadlineSeconds"), Invalid("spec.ttlSecondsAfterFinished")}},
		{"no selector", func(j *batchv1.Job) { j.Spec.Selector = nil }, []Err{Required("spec.selector"), Invalid("spec.template.metadata.labels")}},
		{"selector not generated", func(j *batchv1.Job) {
			j.Spec.Selector.MatchLabels["batch.kubernetes.io/controller-uid"] = "other"
		}, []Err{Invalid("spec.selector"), Invalid("spec.template.metadata.labels")}},
		{"template label conflicts", func(j *batchv1.Job) { j.Spec.Template.Labels["job-name"] = "other" },
			[]Err{Invalid("spec.template.metadata.labels[job-name]")}},
		{"template label removed", func(j *batchv1.Job) { delete(j.Spec.Template.Labels, "batch.kubernetes.io/job-name") },
			[]Err{Required("spec.template.metadata.labels[batch.kubernetes.io/job-name]")}},
		{"no uid", func(j *batchv1.Job) { j.UID = "" },
			[]Err{Required("metadata.uid"), Invalid("spec.template.metadata.labels[controller-uid]"),
				Invalid("spec.template.metadata.labels[batch.kubernetes.io/controller-uid]"), Invalid("spec.selector")}},
		{"bad completion mode", func(j *batchv1.Job) { j.Spec.CompletionMode = new(batchv1.CompletionMode("Sharded")) },
			[]Err{NotSupported("spec.completionMode")}},
		{"indexed without completions", func(j *batchv1.Job) {
			j.Spec.CompletionMode = new(batchv1.IndexedCompletion)
			j.Spec.Completions = nil
		}, []Err{Required("spec.completions")}},
		{"per-index limits without Indexed", func(j *batchv1.Job) {
			j.Spec.BackoffLimitPerIndex = new(int32(1))
			j.Spec.MaxFailedIndexes = new(int32(1))
		}, []Err{Invalid("spec.backoffLimitPerIndex"), Invalid("spec.maxFailedIndexes")}},
		{"maxFailedIndexes without backoffLimitPerIndex", func(j *batchv1.Job) {
			j.Spec.CompletionMode = new(batchv1.IndexedCompletion)
			j.Spec.MaxFailedIndexes = new(int32(2))
		}, []Err{Required("spec.backoffLimitPerIndex"), Invalid("spec.maxFailedIndexes")}},
		{"indexed name too long for hostnames", func(j *batchv1.Job) {
			j.Name = "a-name-that-is-exactly-sixty-one-characters-long-abcdefghijkl"
			j.Spec.Template.Labels["job-name"] = j.Name
			j.Spec.Template.Labels["batch.kubernetes.io/job-name"] = j.Name
			j.Spec.CompletionMode = new(batchv1.IndexedCompletion)
			j.Spec.Completions = new(int32(100))
		}, []Err{Invalid("metadata.name")}},
		{"success policy without Indexed", func(j *batchv1.Job) {
			j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{{SucceededCount: new(int32(1))}}}
		}, []Err{Invalid("spec.successPolicy")}},
		{"bad success policy", func(j *batchv1.Job) {
			j.Spec.CompletionMode = new(batchv1.IndexedCompletion)
			j.Spec.Completions = new(int32(3))
			j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{
				{}, {SucceededIndexes: new("2-1")}, {SucceededIndexes: new("0"), SucceededCount: new(int32(2))}, {SucceededCount: new(int32(4))},
			}}
		}, []Err{Required("spec.successPolicy.rules[0]"), Invalid("spec.successPolicy.rules[1].succeededIndexes"),
			Invalid("spec.successPolicy.rules[2].succeededCount"), Invalid("spec.successPolicy.rules[3].succeededCount")}},
		{"pod failure policy", func(j *batchv1.Job) {
			j.Spec.PodReplacementPolicy = new(batchv1.Failed)
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
				{Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					ContainerName: new("web"), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{1, 42}}},
				{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{
					{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}},
			}}
		}, nil},
		{"bad pod failure policy", func(j *batchv1.Job) {
			j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
				{Action: "Retry", OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					ContainerName: new("db"), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{0, 3, 2, 2}}},
				{Action: batchv1.PodFailurePolicyActionFailIndex},
				{Action: batchv1.PodFailurePolicyActionCount, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: "Bad Type", Status: "Maybe"}}},
			}}
		}, []Err{
			Invalid("spec.template.spec.restartPolicy"),
			NotSupported("spec.podReplacementPolicy"),
			NotSupported("spec.podFailurePolicy.rules[0].action"),
			Invalid("spec.podFailurePolicy.rules[0].onExitCodes.containerName"),
			Invalid("spec.podFailurePolicy.rules[0].onExitCodes.values[0]"),
			Duplicate("spec.podFailurePolicy.rules[0].onExitCodes.values[3]"),
			Invalid("spec.podFailurePolicy.rules[0].onExitCodes.values"),
			Invalid("spec.podFailurePolicy.rules[1].action"),
			Invalid("spec.podFailurePolicy.rules[1]"),
			Invalid("spec.podFailurePolicy.rules[2].onPodConditions[0].type"),
			NotSupported("spec.podFailurePolicy.rules[2].onPodConditions[0].status"),
		}},
		{"bad managedBy", func(j *batchv1.Job) { j.Spec.ManagedBy = new("kueue") }, []Err{Invalid("spec.managedBy")}},
		{"managedBy", func(j *batchv1.Job) { j.Spec.ManagedBy = new("kueue.x-k8s.io/multikueue") }, nil},
		{"bad replacement policy", func(j *batchv1.Job) { j.Spec.PodReplacementPolicy = new(batchv1.PodReplacementPolicy("Never")) },
			[]Err{NotSupported("spec.podReplacementPolicy")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := newJob()
			tt.mutate(j)
			Expect(t, Validate(j), tt.want...)
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	old := newJob()
	running := old.DeepCopy()
	running.Spec.Parallelism = new(int32(3))
	running.Spec.ActiveDeadlineSeconds = new(int64(600))
	running.Spec.Suspend = new(true)
	Expect(t, ValidateUpdate(running, old))

	bad := old.DeepCopy()
	bad.Spec.Completions = new(int32(3))
	bad.Spec.Template.Spec.Containers[0].Image = "perl:5.40"
	bad.Spec.Selector.MatchLabels["extra"] = "x"
	bad.Spec.CompletionMode = new(batchv1.IndexedCompletion)
	Expect(t, ValidateUpdate(bad, old),
		Invalid("spec.completions"), Invalid("spec.template"), Invalid("spec.selector"),
		Invalid("spec.completionMode"), Invalid("spec.template.metadata.labels"))

	// A suspended job that has not started may get new resources and
	// scheduling directives, nothing else in its template.
	suspended := newJob()
	suspended.Spec.Suspend = new(true)
	resized := suspended.DeepCopy()
	resized.Spec.Template.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}
	resized.Spec.Template.Spec.NodeSelector = map[string]string{"pool": "gpu"}
	resized.Spec.Template.Annotations = map[string]string{"queue": "high"}
	Expect(t, ValidateUpdate(resized, suspended))
	reimaged := suspended.DeepCopy()
	reimaged.Spec.Template.Spec.Containers[0].Image = "perl:5.40"
	Expect(t, ValidateUpdate(reimaged, suspended), Invalid("spec.template.spec"))
	started := suspended.DeepCopy()
	started.Status.StartTime = &metav1.Time{Time: time.Now()}
	started.Status.Active = 1
	resizedStarted := started.DeepCopy()
	resizedStarted.Spec.Template.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}
	Expect(t, ValidateUpdate(resizedStarted, started), Invalid("spec.template"))

	// Elastic indexed jobs scale completions with parallelism.
	indexed := newJob()
	indexed.Spec.CompletionMode = new(batchv1.IndexedCompletion)
	indexed.Spec.Completions, indexed.Spec.Parallelism = new(int32(4)), new(int32(4))
	scaled := indexed.DeepCopy()
	scaled.Spec.Completions, scaled.Spec.Parallelism = new(int32(6)), new(int32(6))
	Expect(t, ValidateUpdate(scaled, indexed))
	lopsided := indexed.DeepCopy()
	lopsided.Spec.Completions = new(int32(6))
	Expect(t, ValidateUpdate(lopsided, indexed), Invalid("spec.completions"))
}

func TestStatusUpdate(t *testing.T) {
	start := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC))
	end := metav1.NewTime(start.Add(time.Minute))
	old := newJob()
	old.Status = batchv1.JobStatus{StartTime: &start, Active: 1, Ready: new(int32(1))}

	done := old.DeepCopy()
	done.Status = batchv1.JobStatus{
		StartTime: &start, CompletionTime: &end, Succeeded: 1, Ready: new(int32(0)),
		Conditions: []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue},
			{Type: batchv1.JobComplete, Status: corev1.ConditionTrue},
		},
	}
	Expect(t, ValidateStatusUpdate(done, old))

	sloppy := old.DeepCopy()
	sloppy.Status = batchv1.JobStatus{
		StartTime: &start, Active: 1, Ready: new(int32(2)),
		Conditions: []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}},
	}
	Expect(t, ValidateStatusUpdate(sloppy, old),
		Required("status.completionTime"), Invalid("status.conditions"), Invalid("status.active"), Invalid("status.ready"))

	// Terminal conditions and counters do not go back.
	undone := done.DeepCopy()
	undone.Status.Conditions = nil
	undone.Status.Succeeded = 0
	undone.Status.CompletionTime = nil
	Expect(t, ValidateStatusUpdate(undone, done),
		Invalid("status.conditions"), Invalid("status.conditions"), Invalid("status.succeeded"))

	moved := old.DeepCopy()
	later := metav1.NewTime(start.Add(time.Hour))
	moved.Status.StartTime = &later
	Expect(t, ValidateStatusUpdate(moved, old), Invalid("status.startTime"))
}

func TestWarningsAndFields(t *testing.T) {
	job := newJob()
	job.Name = "pi.v2"
	r := Resource()
	if w := r.Hooks.Warnings(context.Background(), job, nil); len(w) != 1 {
		t.Errorf("warnings %q", w)
	}
	job.Status.Succeeded = 3
	if got := r.SelectableFields(job)["status.successful"]; got != "3" {
		t.Errorf("status.successful %q", got)
	}
}

func TestTable(t *testing.T) {
	now := time.Now()
	job := newJob()
	job.CreationTimestamp = metav1.NewTime(now.Add(-10 * time.Minute))
	start := metav1.NewTime(now.Add(-9 * time.Minute))
	end := metav1.NewTime(start.Add(42 * time.Second))
	job.Status = batchv1.JobStatus{StartTime: &start, CompletionTime: &end, Succeeded: 1, Conditions: []batchv1.JobCondition{
		{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue}, {Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}}
	row, err := Resource().Table.Row(job)
	if err != nil {
		t.Fatal(err)
	}
	want := []interface{}{"pi", "Complete", "1/1", "42s", "10m", "web", "nginx:1.27", "batch.kubernetes.io/controller-uid=" + string(uid)}
	for i := range want {
		if row[i] != want[i] {
			t.Errorf("cell %d = %#v, want %#v", i, row[i], want[i])
		}
	}

	cells := func(j *batchv1.Job) (string, string) { return statusCell(j), completionsCell(j) }
	queue := &batchv1.Job{Spec: batchv1.JobSpec{Parallelism: new(int32(3))}}
	if s, c := cells(queue); s != "Running" || c != "0/1 of 3" {
		t.Errorf("work queue: %q %q", s, c)
	}
	suspended := &batchv1.Job{Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{{Type: batchv1.JobSuspended, Status: corev1.ConditionTrue}}}}
	if s, c := cells(suspended); s != "Suspended" || c != "0/1" {
		t.Errorf("suspended: %q %q", s, c)
	}
	failed := &batchv1.Job{Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{
		{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue}, {Type: batchv1.JobFailed, Status: corev1.ConditionTrue}}}}
	if s := statusCell(failed); s != "Failed" {
		t.Errorf("failed: %q", s)
	}
	if d := durationCell(queue); d != "" {
		t.Errorf("duration before start %q", d)
	}
}
