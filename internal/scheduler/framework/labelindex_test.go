package framework_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kemudi/kemudi/internal/scheduler/framework"
	st "github.com/kemudi/kemudi/internal/scheduler/schedtest"
)

// TestCountMatchingByNode drives a cache through random adds, moves,
// relabels, deletions and removals and, after each step, compares what
// the snapshot's label index counts with counting every pod.
func TestCountMatchingByNode(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	c := framework.NewCache()
	nodes := []string{"a", "b", "c", "d"}
	for _, n := range nodes[:3] {
		c.AddNode(st.Node(n))
	}
	// Node d is never added: its pods are bound to a node not yet seen.
	snap := framework.NewSnapshot()
	selectors := []string{"app=web", "app=web,tier=front", "app in (db)", "tier", "app!=web", "app=web,tier!=back", "app=none", ""}
	pods := map[types.UID]*corev1.Pod{}
	randomLabels := func() []string {
		var kv []string
		if rng.IntN(4) > 0 {
			kv = append(kv, "app", []string{"web", "db"}[rng.IntN(2)])
		}
		if rng.IntN(2) == 0 {
			kv = append(kv, "tier", []string{"front", "back"}[rng.IntN(2)])
		}
		return kv
	}
	for step := range 400 {
		var uid types.UID
		for u := range pods {
			uid = u
			break
		}
		switch op := rng.IntN(5); {
		case op == 0 || len(pods) == 0:
			name := fmt.Sprintf("p%d", step)
			p := st.Pod(name, st.PodLabels(randomLabels()...), st.Namespace([]string{"x", "y"}[rng.IntN(2)]), st.OnNode(nodes[rng.IntN(len(nodes))]))
			p.UID = types.UID(name)
			pods[p.UID] = p
			c.AddPod(p)
		case op == 1: // relabelled
			old := pods[uid]
			p := old.DeepCopy()
			p.Labels = map[string]string{}
			kv := randomLabels()
			for i := 0; i < len(kv); i += 2 {
				p.Labels[kv[i]] = kv[i+1]
			}
			pods[uid] = p
			c.UpdatePod(old, p)
		case op == 2: // being deleted
			old := pods[uid]
			p := old.DeepCopy()
			p.DeletionTimestamp = &metav1.Time{}
			pods[uid] = p
			c.UpdatePod(old, p)
		case op == 3: // moved: removed, then bound elsewhere
			p := pods[uid].DeepCopy()
			c.RemovePod(uid)
			p.Spec.NodeName = nodes[rng.IntN(len(nodes))]
			pods[uid] = p
			c.AddPod(p)
		default:
			c.RemovePod(uid)
			delete(pods, uid)
		}
		c.UpdateSnapshot(snap)
		for _, ns := range []string{"x", "y"} {
			for _, s := range selectors {
				sel, err := labels.Parse(s)
				if err != nil {
					t.Fatal(err)
				}
				want := map[string]int{}
				for _, p := range pods {
					if p.Namespace == ns && p.DeletionTimestamp == nil && !sel.Empty() && sel.Matches(labels.Set(p.Labels)) {
						want[p.Spec.NodeName]++
					}
				}
				if got := snap.CountMatchingByNode(ns, sel); !maps.Equal(got, want) {
					t.Fatalf("step %d, namespace %s, selector %q: got %v, want %v", step, ns, s, got, want)
				}
			}
		}
	}
}
