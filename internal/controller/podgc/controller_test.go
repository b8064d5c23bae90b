package podgc

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	corelisters "k8s.io/client-go/listers/core/v1"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	testingclock "k8s.io/utils/clock/testing"
)

// newTestController builds a controller whose informer caches hold
// cached and whose API holds live: they differ the way a lagging
// informer makes them differ.
func newTestController(t *testing.T, clk *testingclock.FakeClock, cached []runtime.Object, live ...runtime.Object) (*Controller, *fake.Clientset) {
	t.Helper()
	pods := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	nodes := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	for _, o := range cached {
		var err error
		switch o.(type) {
		case *corev1.Pod:
			err = pods.Add(o)
		case *corev1.Node:
			err = nodes.Add(o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	client := fake.NewClientset(live...)
	return &Controller{
		client:     client,
		pods:       corelisters.NewPodLister(pods),
		nodes:      corelisters.NewNodeLister(nodes),
		clock:      clk,
		log:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		threshold:  12500,
		period:     20 * time.Second,
		quarantine: newQuarantine(40 * time.Second),
	}, client
}

// writes lists the API writes: "verb resource[/sub] name".
func writes(client *fake.Clientset) []string {
	var out []string
	for _, a := range client.Actions() {
		if a.GetVerb() == "list" || a.GetVerb() == "watch" {
			continue
		}
		r := a.GetResource().Resource
		if a.GetSubresource() != "" {
			r += "/" + a.GetSubresource()
		}
		name := ""
		switch a := a.(type) {
		case k8stesting.GetAction:
			name = a.GetName()
		case k8stesting.PatchAction:
			name = a.GetName()
		case k8stesting.DeleteAction:
			name = a.GetName()
		}
		out = append(out, a.GetVerb()+" "+r+" "+name)
	}
	return out
}

func TestOrphansWaitOutTheQuarantineAndALiveGet(t *testing.T) {
	clk := testingclock.NewFakeClock(t0)
	orphan := pod("orphan", "gone", corev1.PodRunning, 0, func(p *corev1.Pod) { p.UID, p.Generation = "u-orphan", 1 })
	lagging := pod("fine", "lagging", corev1.PodRunning, 0)
	// "lagging" exists in the API but not yet in the informer.
	gc, client := newTestController(t, clk, []runtime.Object{orphan, lagging},
		orphan.DeepCopy(), lagging.DeepCopy(), node("lagging", corev1.ConditionTrue))
	ctx := context.Background()

	gc.pass(ctx)
	clk.Step(39 * time.Second)
	gc.pass(ctx)
	if w := writes(client); len(w) != 0 {
		t.Fatalf("acted within the quarantine: %v", w)
	}
	clk.Step(time.Second)
	gc.pass(ctx)
	got := writes(client)
	want := []string{"get nodes gone", "get nodes lagging", "patch pods/status orphan", "delete pods orphan"}
	if len(got) != len(want) {
		t.Fatalf("writes %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("writes %v, want %v", got, want)
		}
	}
	for _, a := range client.Actions() {
		if d, ok := a.(k8stesting.DeleteActionImpl); ok {
			o := d.GetDeleteOptions()
			if o.GracePeriodSeconds == nil || *o.GracePeriodSeconds != 0 {
				t.Errorf("deleted with grace period %v, want 0", o.GracePeriodSeconds)
			}
			if o.Preconditions == nil || o.Preconditions.UID == nil || *o.Preconditions.UID != "u-orphan" {
				t.Errorf("delete preconditions %v, want the pod's UID", o.Preconditions)
			}
		}
	}
	p, err := client.CoreV1().Pods("ns").Get(ctx, "orphan", metav1.GetOptions{})
	if err == nil {
		t.Errorf("orphan still there: %v", p.Status.Phase)
	}
}

func TestTerminalPodsAreDeletedWithoutAStatusPatch(t *testing.T) {
	clk := testingclock.NewFakeClock(t0)
	var cached, live []runtime.Object
	for _, p := range []*corev1.Pod{
		pod("old", "n1", corev1.PodSucceeded, 0),
		pod("new", "n1", corev1.PodFailed, time.Second),
		pod("unscheduled", "", corev1.PodPending, 0, terminating),
	} {
		cached, live = append(cached, p), append(live, p.DeepCopy())
	}
	cached = append(cached, node("n1", corev1.ConditionTrue))
	gc, client := newTestController(t, clk, cached, live...)
	gc.threshold = 1
	gc.pass(context.Background())
	got := map[string]bool{}
	for _, w := range writes(client) {
		got[w] = true
	}
	want := map[string]bool{"delete pods old": true, "patch pods/status unscheduled": true, "delete pods unscheduled": true}
	if len(got) != len(want) {
		t.Fatalf("writes %v, want %v", got, want)
	}
	for w := range want {
		if !got[w] {
			t.Fatalf("writes %v, want %v", got, want)
		}
	}
}
