package job

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func ptr[T any](v T) *T { return &v }

func TestIntervals(t *testing.T) {
	for _, tc := range []struct {
		in          string
		completions int
		add         []int
		want        string
		total       int
	}{
		{"", 10, nil, "", 0},
		{"", 10, []int{3, 1, 2}, "1-3", 3},
		{"1,3-5", 10, []int{2}, "1-5", 5},
		{"0,1", 10, nil, "0,1", 2},
		{"0-2,7", 10, []int{9, 5}, "0-2,5,7,9", 6},
		{"0-20", 5, nil, "0-4", 5},
		{"x,2", 5, nil, "2", 1},
		{"8", 5, []int{1}, "1", 1},
	} {
		got := parseIntervals(tc.in, tc.completions).with(tc.add...)
		if got.String() != tc.want || got.total() != tc.total {
			t.Errorf("%q + %v = %q (%d), want %q (%d)", tc.in, tc.add, got, got.total(), tc.want, tc.total)
		}
	}
	iv := parseIntervals("1,3-5", 10)
	for ix, want := range map[int]bool{0: false, 1: true, 2: false, 3: true, 5: true, 6: false} {
		if iv.has(ix) != want {
			t.Errorf("has(%d) = %v", ix, !want)
		}
	}
}

func TestFirstPendingIndexes(t *testing.T) {
	for _, tc := range []struct {
		nonPending  string
		count, comp int
		want        []int
	}{
		{"", 3, 5, []int{0, 1, 2}},
		{"0,2", 3, 5, []int{1, 3, 4}},
		{"0-4", 3, 5, nil},
		{"1-3", 5, 5, []int{0, 4}},
	} {
		got := firstPendingIndexes(parseIntervals(tc.nonPending, tc.comp), tc.count, tc.comp)
		if len(got) != len(tc.want) {
			t.Errorf("%q: got %v, want %v", tc.nonPending, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%q: got %v, want %v", tc.nonPending, got, tc.want)
			}
		}
	}
}

func TestWantActive(t *testing.T) {
	job := func(completions *int32, parallelism int32) *batchv1.Job {
		return &batchv1.Job{Spec: batchv1.JobSpec{Completions: completions, Parallelism: &parallelism}}
	}
	for _, tc := range []struct {
		name              string
		job               *batchv1.Job
		active, succeeded int32
		want              int32
	}{
		{"parallelism bounds", job(ptr(int32(10)), 3), 0, 0, 3},
		{"remaining completions bound", job(ptr(int32(5)), 3), 3, 4, 1},
		{"done", job(ptr(int32(5)), 3), 1, 6, 0},
		{"work queue before success", job(nil, 4), 2, 0, 4},
		{"work queue after a success keeps what runs", job(nil, 4), 2, 1, 2},
	} {
		if got := wantActive(tc.job, tc.active, tc.succeeded); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}

func pod(name string, mutate func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name), Annotations: map[string]string{}}}
	if mutate != nil {
		mutate(p)
	}
	return p
}

func indexed(ix string, running bool) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		if ix != "" {
			p.Annotations[batchv1.JobCompletionIndexAnnotation] = ix
		}
		if running {
			p.Spec.NodeName = "n"
			p.Status.Phase = corev1.PodRunning
		}
	}
}

func TestPodsToRemove(t *testing.T) {
	job := &batchv1.Job{Spec: batchv1.JobSpec{Completions: ptr(int32(3)), CompletionMode: ptr(batchv1.IndexedCompletion)}}
	pods := []*corev1.Pod{
		pod("a0", indexed("0", true)),
		pod("b0", indexed("0", false)), // duplicate, less advanced: goes
		pod("c1", indexed("1", true)),
		pod("d9", indexed("9", true)), // out of range
		pod("e", indexed("", true)),   // no index
	}
	got := names(podsToRemove(job, pods, 0))
	if got != "d9,e,b0" {
		t.Errorf("removed %s, want d9,e,b0 (bad indexes, then the lesser duplicate)", got)
	}
	nonIndexed := &batchv1.Job{}
	got = names(podsToRemove(nonIndexed, []*corev1.Pod{pod("running", indexed("", true)), pod("pending", nil)}, 1))
	if got != "pending" {
		t.Errorf("removed %s, want the pending pod first", got)
	}
}

func names(pods []*corev1.Pod) string {
	s := ""
	for i, p := range pods {
		if i > 0 {
			s += ","
		}
		s += p.Name
	}
	return s
}

func TestBackoff(t *testing.T) {
	base := time.Unix(10000, 0)
	finished := func(name string, phase corev1.PodPhase, at time.Time) *corev1.Pod {
		return pod(name, func(p *corev1.Pod) {
			p.Status.Phase = phase
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{FinishedAt: metav1.NewTime(at)}}}}
		})
	}
	r := nextBackoff(backoffRecord{}, nil, []*corev1.Pod{finished("f1", corev1.PodFailed, base)})
	if r.failuresAfterLastSuccess != 1 || r.remaining(base) != 10*time.Second || r.remaining(base.Add(4*time.Second)) != 6*time.Second {
		t.Errorf("one failure: %+v, remaining %v", r, r.remaining(base))
	}
	r = nextBackoff(r, nil, []*corev1.Pod{finished("f2", corev1.PodFailed, base.Add(time.Second)), finished("f3", corev1.PodFailed, base.Add(2*time.Second))})
	if r.failuresAfterLastSuccess != 3 || r.remaining(base.Add(2*time.Second)) != 40*time.Second {
		t.Errorf("three failures: %+v, remaining %v", r, r.remaining(base.Add(2*time.Second)))
	}
	// A success resets; failures after it count again.
	r = nextBackoff(r, []*corev1.Pod{finished("s", corev1.PodSucceeded, base.Add(5*time.Second))}, []*corev1.Pod{finished("f4", corev1.PodFailed, base.Add(6*time.Second))})
	if r.failuresAfterLastSuccess != 1 {
		t.Errorf("after a success: %+v", r)
	}
	if got := backoffRemaining(base, 30, &base); got != maxPodFailureBackoff {
		t.Errorf("cap: %v", got)
	}
}

func TestFailurePolicy(t *testing.T) {
	failed := func(code int32, cond corev1.PodConditionType) *corev1.Pod {
		return pod("p", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodFailed
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "main", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}}}
			if cond != "" {
				p.Status.Conditions = []corev1.PodCondition{{Type: cond, Status: corev1.ConditionTrue}}
			}
		})
	}
	policy := &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
		{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}},
		{Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42}}},
		{Action: batchv1.PodFailurePolicyActionCount, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpNotIn, Values: []int32{1}}},
	}}
	for _, tc := range []struct {
		name    string
		pod     *corev1.Pod
		count   bool
		failJob bool
	}{
		{"disruption ignored", failed(42, corev1.DisruptionTarget), false, false},
		{"exit 42 fails the job", failed(42, ""), true, true},
		{"exit 3 counts", failed(3, ""), true, false},
		{"exit 1 matches nothing and counts", failed(1, ""), true, false},
	} {
		v := matchFailurePolicy(policy, tc.pod)
		if v.count != tc.count || (v.failJob != nil) != tc.failJob {
			t.Errorf("%s: %+v", tc.name, v)
		}
	}
	v := matchFailurePolicy(policy, failed(42, ""))
	if want := "Container main for pod ns/p failed with exit code 42 matching FailJob rule at index 1"; *v.failJob != want {
		t.Errorf("message %q, want %q", *v.failJob, want)
	}
}

func TestSuccessPolicy(t *testing.T) {
	policy := &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{
		{SucceededIndexes: ptr("0-2"), SucceededCount: ptr(int32(2))},
		{SucceededCount: ptr(int32(4))},
	}}
	for _, tc := range []struct {
		succeeded string
		met       bool
		msg       string
	}{
		{"", false, ""},
		{"0", false, ""},
		{"0,2", true, "Matched rules at index 0"},
		{"3-5", false, ""},
		{"3-5,9", true, "Matched rules at index 1"},
		{"3-6", true, "Matched rules at index 1"},
	} {
		msg, met := matchSuccessPolicy(policy, 10, parseIntervals(tc.succeeded, 10))
		if met != tc.met || msg != tc.msg {
			t.Errorf("%q: %v %q", tc.succeeded, met, msg)
		}
	}
}

func TestIndexedGenerateName(t *testing.T) {
	if got := indexedGenerateName("pi", 3); got != "pi-3-" {
		t.Errorf("%q", got)
	}
	long := "a123456789a123456789a123456789a123456789a123456789a123456789"
	if got := indexedGenerateName(long, 12); len(got) != maxGeneratedNameLength || got[len(got)-4:] != "-12-" {
		t.Errorf("%q (%d)", got, len(got))
	}
}
