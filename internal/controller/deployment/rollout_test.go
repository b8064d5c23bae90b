package deployment

import (
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kemudi/kemudi/internal/controller"
)

func rolling(replicas int32, surge, unavailable string) *appsv1.Deployment {
	s, u := intstr.Parse(surge), intstr.Parse(unavailable)
	return &appsv1.Deployment{Spec: appsv1.DeploymentSpec{
		Replicas: &replicas,
		Strategy: appsv1.DeploymentStrategy{
			Type:          appsv1.RollingUpdateDeploymentStrategyType,
			RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &s, MaxUnavailable: &u},
		},
	}}
}

func rs(name string, replicas, available int32, created int64) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name), CreationTimestamp: metav1.Unix(created, 0)},
		Spec:       appsv1.ReplicaSetSpec{Replicas: &replicas},
		Status:     appsv1.ReplicaSetStatus{Replicas: replicas, AvailableReplicas: available, ReadyReplicas: available},
	}
}

func TestResolveFenceposts(t *testing.T) {
	for _, c := range []struct {
		surge, unavailable    string
		desired               int32
		wantSurge, wantUnavai int32
	}{
		{"25%", "25%", 3, 1, 0},
		{"25%", "25%", 10, 3, 2},
		{"1%", "1%", 2, 1, 0},
		{"0%", "1%", 2, 0, 1}, // both round to zero: one may be unavailable
		{"0", "0%", 5, 0, 1},
		{"2", "1", 5, 2, 1},
		{"100%", "0", 4, 4, 0},
	} {
		s, u := intstr.Parse(c.surge), intstr.Parse(c.unavailable)
		gotS, gotU, err := resolveFenceposts(&s, &u, c.desired)
		if err != nil || gotS != c.wantSurge || gotU != c.wantUnavai {
			t.Errorf("surge %s unavailable %s of %d: got %d, %d, %v; want %d, %d", c.surge, c.unavailable, c.desired, gotS, gotU, err, c.wantSurge, c.wantUnavai)
		}
	}
}

func TestNewRSNewReplicas(t *testing.T) {
	for _, c := range []struct {
		name string
		d    *appsv1.Deployment
		old  []*appsv1.ReplicaSet
		new  *appsv1.ReplicaSet
		want int32
	}{
		{"room to surge", rolling(10, "3", "0"), []*appsv1.ReplicaSet{rs("old", 10, 10, 1)}, rs("new", 0, 0, 2), 3},
		{"surge used up", rolling(10, "3", "0"), []*appsv1.ReplicaSet{rs("old", 7, 7, 1)}, rs("new", 6, 3, 2), 6},
		{"never past replicas", rolling(10, "5", "0"), []*appsv1.ReplicaSet{rs("old", 1, 1, 1)}, rs("new", 8, 8, 2), 10},
		{"old pods still there count", rolling(4, "1", "0"), []*appsv1.ReplicaSet{func() *appsv1.ReplicaSet {
			r := rs("old", 3, 3, 1)
			r.Status.Replicas = 4 // told to shrink, pod not gone yet
			return r
		}()}, rs("new", 1, 1, 2), 1},
		{"recreate", &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr(int32(5)), Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}}}, nil, rs("new", 0, 0, 2), 5},
	} {
		got, err := newRSNewReplicas(c.d, append(c.old, c.new), c.new)
		if err != nil || got != c.want {
			t.Errorf("%s: got %d, %v; want %d", c.name, got, err, c.want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestProportionalScale(t *testing.T) {
	// Mid-rollout at 10 replicas (surge 3: max-replicas 13), scaled to 20
	// (max 23: 10 more to share, in proportion 7:6).
	d := rolling(20, "3", "2")
	old := rs("old", 7, 7, 1)
	newRS := rs("new", 6, 0, 2)
	for _, r := range []*appsv1.ReplicaSet{old, newRS} {
		r.Annotations = map[string]string{MaxReplicasAnnotation: "13", DesiredReplicasAnnotation: "10"}
	}
	got := map[string]int32{}
	for _, s := range proportionalScale(d, newRS, []*appsv1.ReplicaSet{old}) {
		got[s.rs.Name] = s.replicas
	}
	if got["old"]+got["new"] != 23 || got["old"] != 12 || got["new"] != 11 {
		t.Fatalf("scaled to %v, want old 12 new 11", got)
	}
	// Down to 5 (max 8 with surge 3 -> 2 at 5 replicas: ceil(0.6*... )).
	d = rolling(5, "3", "2")
	got = map[string]int32{}
	for _, s := range proportionalScale(d, newRS, []*appsv1.ReplicaSet{old}) {
		got[s.rs.Name] = s.replicas
	}
	if got["old"]+got["new"] != 8 {
		t.Fatalf("scaled down to %v, want 8 in all", got)
	}
}

func TestOldScaleDown(t *testing.T) {
	d := rolling(10, "2", "2")
	oldest, older, newRS := rs("a", 4, 4, 1), rs("b", 6, 2, 2), rs("new", 2, 2, 3)
	all := []*appsv1.ReplicaSet{oldest, older, newRS}
	// 12 pods, min available 8, new set fully available: 4 may go.
	if got := maxScaledDown(d, all, newRS); got != 4 {
		t.Fatalf("maxScaledDown %d, want 4", got)
	}
	// Unavailable pods go first: b has 4 unavailable.
	steps, n, ok := unhealthyCleanup([]*appsv1.ReplicaSet{oldest, older}, 4)
	if n != 4 || !ok || len(steps) != 1 || steps[0].rs.Name != "b" || steps[0].replicas != 2 {
		t.Fatalf("cleanup %v %d", steps, n)
	}
	// A set just told to shrink still reports its old availability: no
	// plan at all (never a "scale down" to more pods).
	stale := rs("stale", 15, 20, 1)
	if steps, _, ok := unhealthyCleanup([]*appsv1.ReplicaSet{stale}, 5); ok || len(steps) != 0 {
		t.Fatalf("stale set: %v %v", steps, ok)
	}
	// Then available ones beyond the minimum, oldest set first: 8
	// available, minimum 8: none.
	if steps := oldScaleDown(d, all, []*appsv1.ReplicaSet{oldest, older}); len(steps) != 0 {
		t.Fatalf("scale down %v", steps)
	}
	newRS.Status.AvailableReplicas, newRS.Spec.Replicas = 6, ptr(int32(6))
	steps = oldScaleDown(d, all, []*appsv1.ReplicaSet{oldest, older})
	if len(steps) != 1 || steps[0].rs.Name != "a" || steps[0].replicas != 0 {
		t.Fatalf("scale down %v", steps)
	}
}

// simulate runs a rolling update to the end with the decision functions
// alone (pods become available at once, or after a lag of one step),
// checking at every step that no more than replicas+maxSurge pods exist
// and no fewer than replicas-maxUnavailable are available.
func TestRollingUpdateInvariants(t *testing.T) {
	for _, replicas := range []int32{1, 2, 3, 5, 10, 20} {
		for _, p := range [][2]string{{"25%", "25%"}, {"1", "0"}, {"0", "1"}, {"50%", "0"}, {"3", "2"}, {"100%", "100%"}} {
			for _, lag := range []bool{false, true} {
				t.Run(fmt.Sprintf("%d/%s/%s/lag=%v", replicas, p[0], p[1], lag), func(t *testing.T) {
					simulate(t, rolling(replicas, p[0], p[1]), lag)
				})
			}
		}
	}
}

func simulate(t *testing.T, d *appsv1.Deployment, lag bool) {
	surge, unavailable := maxSurge(d), maxUnavailable(d)
	replicas := *d.Spec.Replicas
	old := rs("old", replicas, replicas, 1)
	newRS := rs("new", 0, 0, 2)
	pending := int32(0) // new pods not yet available (lag)
	// With lag, an old set's status catches up with a scale-down a step
	// later (its pods are gone at once, its status says so later): the
	// decisions then see stale status.
	shrunk := int32(-1)
	for step := 0; step < 200; step++ {
		catchUp := shrunk
		shrunk = -1
		all := []*appsv1.ReplicaSet{old, newRS}
		if *newRS.Spec.Replicas == replicas && *old.Spec.Replicas == 0 && newRS.Status.AvailableReplicas == replicas {
			return
		}
		if n, _ := newRSNewReplicas(d, all, newRS); n > *newRS.Spec.Replicas {
			pending += n - *newRS.Spec.Replicas
			newRS.Spec.Replicas, newRS.Status.Replicas = ptr(n), n
		} else if limit := maxScaledDown(d, all, newRS); limit > 0 {
			steps, _, ok := unhealthyCleanup([]*appsv1.ReplicaSet{old}, limit)
			if ok {
				for _, s := range steps {
					if s.replicas > *s.rs.Spec.Replicas {
						t.Fatalf("step %d: cleanup grows %s from %d to %d", step, s.rs.Name, *s.rs.Spec.Replicas, s.replicas)
					}
					s.rs.Spec.Replicas = ptr(s.replicas)
				}
				for _, s := range oldScaleDown(d, all, activeSets([]*appsv1.ReplicaSet{old})) {
					if s.replicas > *s.rs.Spec.Replicas {
						t.Fatalf("step %d: scale-down grows %s from %d to %d", step, s.rs.Name, *s.rs.Spec.Replicas, s.replicas)
					}
					s.rs.Spec.Replicas = ptr(s.replicas)
				}
				if lag {
					shrunk = *old.Spec.Replicas
				} else {
					old.Status.Replicas, old.Status.AvailableReplicas = *old.Spec.Replicas, min(old.Status.AvailableReplicas, *old.Spec.Replicas)
				}
			}
		}
		if catchUp >= 0 {
			old.Status.Replicas, old.Status.AvailableReplicas = catchUp, min(old.Status.AvailableReplicas, catchUp)
		}
		// Pods become available (a step later with lag).
		if !lag || step%2 == 1 {
			newRS.Status.AvailableReplicas += pending
			pending = 0
		}
		// The pods that exist: an old set's pods go as soon as it shrinks.
		pods := min(old.Status.Replicas, *old.Spec.Replicas) + newRS.Status.Replicas
		available := min(old.Status.AvailableReplicas, *old.Spec.Replicas) + newRS.Status.AvailableReplicas
		if pods > replicas+surge {
			t.Fatalf("step %d: %d pods, more than %d+%d", step, pods, replicas, surge)
		}
		if available < replicas-unavailable {
			t.Fatalf("step %d: %d available, fewer than %d-%d", step, available, replicas, unavailable)
		}
	}
	t.Fatalf("no end: old %d new %d (%d available)", *old.Spec.Replicas, *newRS.Spec.Replicas, newRS.Status.AvailableReplicas)
}

func TestRevisionHistory(t *testing.T) {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{"team": "a", RevisionAnnotation: "9"}}, Spec: appsv1.DeploymentSpec{Replicas: ptr(int32(3))}}
	set := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{RevisionAnnotation: "1"}}}
	if !setNewReplicaSetAnnotations(d, set, "3", true) {
		t.Fatal("no change reported")
	}
	if a := set.Annotations; a[RevisionAnnotation] != "3" || a[RevisionHistoryAnnotation] != "1" || a["team"] != "a" {
		t.Fatalf("annotations %v", a)
	}
	setNewReplicaSetAnnotations(d, set, "5", true)
	if a := set.Annotations; a[RevisionAnnotation] != "5" || a[RevisionHistoryAnnotation] != "1,3" {
		t.Fatalf("annotations %v", a)
	}
	// Never lowered.
	if setNewReplicaSetAnnotations(d, set, "4", true) || set.Annotations[RevisionAnnotation] != "5" {
		t.Fatalf("revision lowered: %v", set.Annotations)
	}
	sets := []*appsv1.ReplicaSet{
		{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{RevisionAnnotation: "2"}}},
		{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{RevisionAnnotation: "7"}}},
		{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{RevisionAnnotation: "4"}}},
	}
	if maxRevision(sets) != 7 || lastRevision(sets) != 4 {
		t.Fatalf("max %d last %d", maxRevision(sets), lastRevision(sets))
	}
}

func TestTemplateHashAndName(t *testing.T) {
	d := rolling(1, "1", "0")
	d.Spec.Template.Labels = map[string]string{"app": "web"}
	h1 := controller.ComputeHash(&d.Spec.Template, nil)
	if h1 != controller.ComputeHash(&d.Spec.Template, nil) || h1 == controller.ComputeHash(&d.Spec.Template, ptr(int32(1))) {
		t.Fatalf("hash not stable or ignores the collision count: %s", h1)
	}
	d.Spec.Template.Labels["app"] = "api"
	if h1 == controller.ComputeHash(&d.Spec.Template, nil) {
		t.Fatal("hash ignores labels")
	}
	long := ""
	for len(long) < 260 {
		long += "x"
	}
	if n := replicaSetName(long, "abcdef"); len(n) != 253 || n[len(n)-7:] != "-abcdef" {
		t.Fatalf("name %q (%d)", n, len(n))
	}
}
