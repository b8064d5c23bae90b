package queue

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/kemudi/kemudi/internal/scheduler/framework"
	st "github.com/kemudi/kemudi/internal/scheduler/schedtest"
)

var interest = Interest{
	"NodeResourcesFit": NodeAdd | AssignedPodDelete,
	"NodeAffinity":     NodeAdd | NodeLabelChange,
}

func newQueue() (*Queue, *testingclock.FakeClock) {
	clock := testingclock.NewFakeClock(time.Unix(1000, 0))
	return New(Options{Clock: clock, Interest: interest}), clock
}

// pop pops without blocking; nil when nothing is active.
func pop(t *testing.T, q *Queue) *QueuedPodInfo {
	t.Helper()
	if a, _, _ := q.Counts(); a == 0 {
		return nil
	}
	p, err := q.Pop(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPriorityOrder(t *testing.T) {
	q, clock := newQueue()
	for _, p := range []*corev1.Pod{
		st.Pod("low", st.Priority(1)), st.Pod("high", st.Priority(100)), st.Pod("mid-1", st.Priority(50)),
	} {
		q.Add(p)
		clock.Step(time.Millisecond)
	}
	q.Add(st.Pod("mid-2", st.Priority(50)))
	var got []string
	for p := pop(t, q); p != nil; p = pop(t, q) {
		got = append(got, p.Pod.Name)
		q.Done(p.Pod.UID)
	}
	want := []string{"high", "mid-1", "mid-2", "low"}
	for i := range want {
		if i >= len(got) || got[i] != want[i] {
			t.Fatalf("order %v, want %v", got, want)
		}
	}
}

func TestSchedulingGates(t *testing.T) {
	q, _ := newQueue()
	gated := st.Pod("g", func(p *corev1.Pod) { p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/wait"}} })
	q.Add(gated)
	if p := pop(t, q); p != nil {
		t.Fatalf("popped gated pod %s", p.Pod.Name)
	}
	q.MoveAllToActiveOrBackoff(AnyEvent)
	if a, _, u := q.Counts(); a != 0 || u != 1 {
		t.Fatalf("a cluster event woke a gated pod: active %d, unschedulable %d", a, u)
	}
	open := gated.DeepCopy()
	open.Spec.SchedulingGates = nil
	q.Update(gated, open)
	if p := pop(t, q); p == nil || p.Pod.Name != "g" {
		t.Fatalf("ungated pod not active: %v", p)
	}
}

// TestUnschedulableWakeUp: a rejected pod waits for an event that can
// help it, not any event.
func TestUnschedulableWakeUp(t *testing.T) {
	q, clock := newQueue()
	q.Add(st.Pod("p"))
	p := pop(t, q)
	q.AddUnschedulable(p, p.Pod, sets.New("NodeAffinity"), false)
	q.MoveAllToActiveOrBackoff(AssignedPodDelete)
	if a, b, u := q.Counts(); a+b != 0 || u != 1 {
		t.Fatalf("an irrelevant event moved the pod: %d %d %d", a, b, u)
	}
	q.MoveAllToActiveOrBackoff(NodeLabelChange)
	if _, b, u := q.Counts(); b != 1 || u != 0 {
		t.Fatalf("a relevant event during the backoff: backoff %d, unschedulable %d", b, u)
	}
	clock.Step(2 * time.Second)
	q.mu.Lock()
	q.flushBackoff()
	q.mu.Unlock()
	if p := pop(t, q); p == nil {
		t.Fatal("backoff over, pod not active")
	}
}

// TestEventDuringCycle: a change that arrives while the pod is being
// scheduled is not lost when the attempt then fails.
func TestEventDuringCycle(t *testing.T) {
	q, _ := newQueue()
	q.Add(st.Pod("p"))
	q.Add(st.Pod("other"))
	p := pop(t, q)
	q.MoveAllToActiveOrBackoff(NodeAdd)
	q.AddUnschedulable(p, p.Pod, sets.New("NodeResourcesFit"), false)
	if _, b, u := q.Counts(); b != 1 || u != 0 {
		t.Errorf("pod parked despite a node added during its cycle: backoff %d, unschedulable %d", b, u)
	}
	o := pop(t, q)
	q.MoveAllToActiveOrBackoff(NodeLabelChange)
	q.AddUnschedulable(o, o.Pod, sets.New("NodeResourcesFit"), false)
	if _, _, u := q.Counts(); u != 1 {
		t.Errorf("an irrelevant event during the cycle kept the pod from waiting")
	}
}

func TestBackoff(t *testing.T) {
	q, _ := newQueue()
	p := &QueuedPodInfo{PodInfo: framework.NewPodInfo(st.Pod("p"))}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for i, w := range want {
		p.Attempts = i + 1
		if got := q.backoffDuration(p); got != w {
			t.Errorf("attempt %d: backoff %s, want %s", i+1, got, w)
		}
	}
}

func TestErrorsBackOff(t *testing.T) {
	q, clock := newQueue()
	q.Add(st.Pod("p"))
	p := pop(t, q)
	q.AddBackoff(p, p.Pod)
	if a, b, _ := q.Counts(); a != 0 || b != 1 {
		t.Fatalf("active %d, backoff %d", a, b)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go q.Run(ctx)
	clock.Step(1500 * time.Millisecond)
	done := make(chan *QueuedPodInfo)
	go func() {
		p, _ := q.Pop(ctx)
		done <- p
	}()
	select {
	case p := <-done:
		if p == nil || p.Pod.Name != "p" || p.Attempts != 2 {
			t.Errorf("popped %v", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("pod did not come back after its backoff")
	}
}

func TestDeleteAndUpdate(t *testing.T) {
	q, _ := newQueue()
	pod := st.Pod("p")
	q.Add(pod)
	q.Delete(pod)
	if a, b, u := q.Counts(); a+b+u != 0 {
		t.Fatal("deleted pod still queued")
	}
	q.Add(pod)
	p := pop(t, q)
	q.AddUnschedulable(p, pod, sets.New("NodeAffinity"), false)
	relabelled := pod.DeepCopy()
	relabelled.Labels = map[string]string{"x": "y"}
	q.Update(pod, relabelled)
	if _, _, u := q.Counts(); u != 0 {
		t.Error("a changed pod stayed unschedulable")
	}
}

func TestNominator(t *testing.T) {
	q, _ := newQueue()
	a := framework.NewPodInfo(st.Pod("a"))
	q.AddNominatedPod(a, "n1")
	if got := q.NominatedPods(); len(got["n1"]) != 1 {
		t.Fatalf("nominated %v", got)
	}
	q.AddNominatedPod(a, "n2")
	if got := q.NominatedPods(); len(got["n1"]) != 0 || len(got["n2"]) != 1 {
		t.Fatalf("renominated %v", got)
	}
	q.DeleteNominatedPod(a.Pod.UID)
	if q.NominatedPods() != nil {
		t.Fatal("nomination not cleared")
	}
	// A pending pod that arrives nominated (after a restart) keeps it.
	pod := st.Pod("b", func(p *corev1.Pod) { p.Status.NominatedNodeName = "n3" })
	q.Add(pod)
	if got := q.NominatedPodsForNode("n3"); len(got) != 1 {
		t.Fatalf("restart nomination %v", got)
	}
	q.Delete(pod)
	if q.NominatedPods() != nil {
		t.Fatal("deleted pod still nominated")
	}
}
