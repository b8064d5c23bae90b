package framework_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/kemudi/kemudi/internal/scheduler/framework"
	st "github.com/kemudi/kemudi/internal/scheduler/schedtest"
)

func names(nodes []*framework.NodeInfo) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.Name())
	}
	return out
}

// TestSnapshotIsStable: a snapshot does not change when the cache does,
// and the next UpdateSnapshot brings exactly the changes.
func TestSnapshotIsStable(t *testing.T) {
	c := framework.NewCache()
	c.AddNode(st.Node("a"))
	c.AddNode(st.Node("b"))
	snap := framework.NewSnapshot()
	c.UpdateSnapshot(snap)
	a := snap.Get("a")

	p := st.Pod("p", st.Req("1", "1Gi"), st.OnNode("a"))
	c.AddPod(p)
	if len(a.Pods) != 0 || a.Requested.MilliCPU != 0 {
		t.Fatalf("the snapshot's node changed under it: %d pods, %dm", len(a.Pods), a.Requested.MilliCPU)
	}
	c.UpdateSnapshot(snap)
	a2 := snap.Get("a")
	if a2 == a || len(a2.Pods) != 1 || a2.Requested.MilliCPU != 1000 || a2.Requested.Memory != 1<<30 {
		t.Fatalf("after update: %d pods, %dm", len(a2.Pods), a2.Requested.MilliCPU)
	}
	if snap.Get("b") == nil || snap.NumNodes() != 2 {
		t.Fatalf("nodes %v", names(snap.List()))
	}

	c.RemovePod(p.UID)
	c.UpdateSnapshot(snap)
	if a3 := snap.Get("a"); len(a3.Pods) != 0 || a3.Requested.MilliCPU != 0 || len(a2.Pods) != 1 {
		t.Errorf("remove: snapshot %d pods, earlier copy %d", len(a3.Pods), len(a2.Pods))
	}
}

// TestAssume: an assumed pod counts at once; the informer's copy
// confirms it; forgetting a confirmed pod does nothing.
func TestAssume(t *testing.T) {
	c := framework.NewCache()
	c.AddNode(st.Node("a"))
	pod := st.Pod("p", st.Req("1", ""))
	bound := pod.DeepCopy()
	bound.Spec.NodeName = "a"
	if err := c.AssumePod(framework.NewPodInfo(bound), "a"); err != nil {
		t.Fatal(err)
	}
	if err := c.AssumePod(framework.NewPodInfo(bound), "a"); err == nil {
		t.Error("assumed twice")
	}
	snap := framework.NewSnapshot()
	c.UpdateSnapshot(snap)
	if got := snap.Get("a").Requested.MilliCPU; got != 1000 || !c.IsAssumed(pod.UID) {
		t.Fatalf("assumed: %dm, assumed %v", got, c.IsAssumed(pod.UID))
	}
	c.ForgetPod(pod.UID)
	c.UpdateSnapshot(snap)
	if got := snap.Get("a").Requested.MilliCPU; got != 0 || c.IsAssumed(pod.UID) {
		t.Fatalf("forgotten: %dm", got)
	}
	_ = c.AssumePod(framework.NewPodInfo(bound), "a")
	c.AddPod(bound)
	c.ForgetPod(pod.UID)
	c.UpdateSnapshot(snap)
	if got := snap.Get("a").Requested.MilliCPU; got != 1000 || c.IsAssumed(pod.UID) {
		t.Errorf("confirmed then forgotten: %dm, assumed %v", got, c.IsAssumed(pod.UID))
	}
}

// TestBoundElsewhere: a pod assumed on one node but bound to another (by
// someone else) moves.
func TestBoundElsewhere(t *testing.T) {
	c := framework.NewCache()
	c.AddNode(st.Node("a"))
	c.AddNode(st.Node("b"))
	pod := st.Pod("p", st.Req("1", ""), st.OnNode("a"))
	_ = c.AssumePod(framework.NewPodInfo(pod), "a")
	other := pod.DeepCopy()
	other.Spec.NodeName = "b"
	c.AddPod(other)
	snap := framework.NewSnapshot()
	c.UpdateSnapshot(snap)
	if len(snap.Get("a").Pods) != 0 || len(snap.Get("b").Pods) != 1 {
		t.Errorf("a has %d pods, b %d", len(snap.Get("a").Pods), len(snap.Get("b").Pods))
	}
}

// TestNodeGone: pods of a deleted node keep counting under its name
// until they go; the node leaves the list at once.
func TestNodeGone(t *testing.T) {
	c := framework.NewCache()
	a := st.Node("a")
	c.AddNode(a)
	c.AddNode(st.Node("b"))
	p := st.Pod("p", st.OnNode("a"))
	c.AddPod(p)
	c.RemoveNode(a)
	snap := framework.NewSnapshot()
	c.UpdateSnapshot(snap)
	if snap.Get("a") != nil || snap.NumNodes() != 1 {
		t.Fatalf("nodes %v", names(snap.List()))
	}
	c.AddNode(a)
	c.UpdateSnapshot(snap)
	if n := snap.Get("a"); n == nil || len(n.Pods) != 1 {
		t.Fatalf("node back: %v", n)
	}
	c.RemoveNode(a)
	c.RemovePod(p.UID)
	c.UpdateSnapshot(snap)
	if snap.Get("a") != nil {
		t.Error("node and pods gone, node still there")
	}
}

// TestZoneOrder: the list interleaves zones, so a scan that stops early
// still sees each.
func TestZoneOrder(t *testing.T) {
	c := framework.NewCache()
	for _, n := range []*corev1.Node{
		st.Node("a1", st.Zone("a")), st.Node("a2", st.Zone("a")), st.Node("a3", st.Zone("a")),
		st.Node("b1", st.Zone("b")), st.Node("c1", st.Zone("c")), st.Node("b2", st.Zone("b")),
	} {
		c.AddNode(n)
	}
	snap := framework.NewSnapshot()
	c.UpdateSnapshot(snap)
	got := names(snap.List())
	want := []string{"a1", "b1", "c1", "a2", "b2", "a3"}
	if len(got) != len(want) {
		t.Fatalf("list %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("list %v, want %v", got, want)
		}
	}
	// A node changing zone moves.
	c.UpdateNode(st.Node("a1", st.Zone("c")))
	c.UpdateSnapshot(snap)
	if got := names(snap.List()); got[0] != "a2" {
		t.Errorf("after a1 moved to zone c: %v", got)
	}
}

// TestAffinityLists: the snapshot knows which nodes hold pods with
// affinity terms.
func TestAffinityLists(t *testing.T) {
	anti := st.Affinity(&corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{st.Term("app", "x", corev1.LabelHostname)},
	}})
	c := framework.NewCache()
	c.AddNode(st.Node("a"))
	c.AddNode(st.Node("b"))
	p := st.Pod("p", anti, st.OnNode("a"))
	c.AddPod(p)
	snap := framework.NewSnapshot()
	c.UpdateSnapshot(snap)
	if got := names(snap.HavePodsWithRequiredAntiAffinity()); len(got) != 1 || got[0] != "a" || snap.NumNodesWithHostAntiAffinity() != 1 {
		t.Fatalf("with anti-affinity: %v", got)
	}
	if len(snap.HavePodsWithAffinity()) != 0 || len(snap.HavePodsWithNonHostAntiAffinity()) != 0 {
		t.Error("required anti-affinity by hostname counted as scoring or non-host")
	}
	c.RemovePod(p.UID)
	c.UpdateSnapshot(snap)
	if len(snap.HavePodsWithRequiredAntiAffinity()) != 0 {
		t.Error("pod gone, node still listed")
	}
}

// TestMemoForgetsOnRelabel: what a pod's memo remembers about terms goes
// when its labels change, even when nothing else does.
func TestMemoForgetsOnRelabel(t *testing.T) {
	c := framework.NewCache()
	c.AddNode(st.Node("a"))
	p := st.Pod("p", st.PodLabels("app", "x"), st.OnNode("a"))
	c.AddPod(p)
	snap := framework.NewSnapshot()
	c.UpdateSnapshot(snap)
	key := framework.NewTermKey("app=x")
	snap.Get("a").Pods[0].Memo.Remember(key, true)

	same := p.DeepCopy()
	same.ResourceVersion = "2"
	c.UpdatePod(p, same)
	c.UpdateSnapshot(snap)
	if m, known := snap.Get("a").Pods[0].Memo.Lookup(key); !known || !m {
		t.Error("an update that kept the labels lost the memo")
	}
	relabelled := same.DeepCopy()
	relabelled.Labels = map[string]string{"app": "y"}
	c.UpdatePod(same, relabelled)
	c.UpdateSnapshot(snap)
	if _, known := snap.Get("a").Pods[0].Memo.Lookup(key); known {
		t.Error("relabelled pod still remembers matching app=x")
	}
}
