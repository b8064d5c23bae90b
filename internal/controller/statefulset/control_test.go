package statefulset

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var now = time.Unix(100000, 0)

// fakeOps records the writes the core asks for.
type fakeOps struct {
	mu      sync.Mutex
	actions []string
}

func (f *fakeOps) record(s string) { f.mu.Lock(); f.actions = append(f.actions, s); f.mu.Unlock() }
func (f *fakeOps) createPod(_ context.Context, _ *appsv1.StatefulSet, p *corev1.Pod) error {
	f.record("create " + p.Name)
	return nil
}
func (f *fakeOps) updatePod(_ context.Context, _ *appsv1.StatefulSet, p *corev1.Pod) error {
	f.record("update " + p.Name)
	return nil
}
func (f *fakeOps) deletePod(_ context.Context, _ *appsv1.StatefulSet, p *corev1.Pod) error {
	f.record("delete " + p.Name)
	return nil
}
func (f *fakeOps) createMissingClaims(context.Context, *appsv1.StatefulSet, *corev1.Pod) error {
	return nil
}
func (f *fakeOps) claimsMatchRetention(*appsv1.StatefulSet, *corev1.Pod) (bool, error) {
	return true, nil
}
func (f *fakeOps) updateClaimsRetention(context.Context, *appsv1.StatefulSet, *corev1.Pod) error {
	return nil
}
func (f *fakeOps) claimIsStale(*appsv1.StatefulSet, *corev1.Pod) (bool, error) { return false, nil }

func ptr[T any](v T) *T { return &v }

func newSet(replicas int32, mutate func(*appsv1.StatefulSet)) *appsv1.StatefulSet {
	s := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "uid", Generation: 1},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    &replicas,
			ServiceName: "web",
			Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template:    corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}},
			UpdateStrategy: appsv1.StatefulSetUpdateStrategy{
				Type:          appsv1.RollingUpdateStatefulSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr(int32(0))},
			},
			PodManagementPolicy: appsv1.OrderedReadyPodManagement,
		},
	}
	if mutate != nil {
		mutate(s)
	}
	return s
}

// pod is an existing pod of the set at a revision; state is "ready",
// "pending", "failed" or "terminating".
func pod(set *appsv1.StatefulSet, o int, rev, state string) *corev1.Pod {
	p := newPod(set, o)
	setRevision(p, rev)
	switch state {
	case "ready":
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(now.Add(-time.Hour))}}
	case "pending":
		p.Status.Phase = corev1.PodPending
	case "failed":
		p.Status.Phase = corev1.PodFailed
	case "terminating":
		p.Status.Phase = corev1.PodRunning
		t := metav1.NewTime(now)
		p.DeletionTimestamp = &t
	}
	return p
}

func TestUpdate(t *testing.T) {
	parallel := func(s *appsv1.StatefulSet) { s.Spec.PodManagementPolicy = appsv1.ParallelPodManagement }
	for _, tc := range []struct {
		name string
		set  *appsv1.StatefulSet
		pods func(*appsv1.StatefulSet) []*corev1.Pod
		want string
	}{
		{"ordered: the first pod only", newSet(3, nil), func(*appsv1.StatefulSet) []*corev1.Pod { return nil }, "create web-0"},
		{"ordered: the next once the first is ready", newSet(3, nil), func(s *appsv1.StatefulSet) []*corev1.Pod {
			return []*corev1.Pod{pod(s, 0, "r1", "ready")}
		}, "create web-1"},
		{"ordered: waits for a pending pod", newSet(3, nil), func(s *appsv1.StatefulSet) []*corev1.Pod {
			return []*corev1.Pod{pod(s, 0, "r1", "pending")}
		}, ""},
		{"parallel: all at once", newSet(3, parallel), func(*appsv1.StatefulSet) []*corev1.Pod { return nil }, "create web-0,create web-1,create web-2"},
		{"a failed pod is deleted to be recreated", newSet(2, nil), func(s *appsv1.StatefulSet) []*corev1.Pod {
			return []*corev1.Pod{pod(s, 0, "r1", "failed"), pod(s, 1, "r1", "ready")}
		}, "delete web-0"},
		{"scale down: the highest ordinal first", newSet(1, nil), func(s *appsv1.StatefulSet) []*corev1.Pod {
			return []*corev1.Pod{pod(s, 0, "r2", "ready"), pod(s, 1, "r2", "ready"), pod(s, 2, "r2", "ready")}
		}, "delete web-2"},
		{"scale down waits for a terminating pod", newSet(1, nil), func(s *appsv1.StatefulSet) []*corev1.Pod {
			return []*corev1.Pod{pod(s, 0, "r1", "ready"), pod(s, 1, "r1", "ready"), pod(s, 2, "r1", "terminating")}
		}, ""},
		{"parallel scale down: all at once", newSet(1, parallel), func(s *appsv1.StatefulSet) []*corev1.Pod {
			return []*corev1.Pod{pod(s, 0, "r2", "ready"), pod(s, 1, "r2", "ready"), pod(s, 2, "r2", "ready")}
		}, "delete web-1,delete web-2"},
		{"rolling update: the highest old pod", newSet(3, nil), func(s *appsv1.StatefulSet) []*corev1.Pod {
			return []*corev1.Pod{pod(s, 0, "r1", "ready"), pod(s, 1, "r1", "ready"), pod(s, 2, "r1", "ready")}
		}, "delete web-2"},
		{"rolling update: one unavailable at a time", newSet(3, nil), func(s *appsv1.StatefulSet) []*corev1.Pod {
			return []*corev1.Pod{pod(s, 0, "r1", "ready"), pod(s, 1, "r1", "ready"), pod(s, 2, "r2", "pending")}
		}, ""},
		{"rolling update: next one down", newSet(3, nil), func(s *appsv1.StatefulSet) []*corev1.Pod {
			return []*corev1.Pod{pod(s, 0, "r1", "ready"), pod(s, 1, "r1", "ready"), pod(s, 2, "r2", "ready")}
		}, "delete web-1"},
		{"partition keeps ordinals below it", newSet(3, func(s *appsv1.StatefulSet) {
			s.Spec.UpdateStrategy.RollingUpdate.Partition = ptr(int32(2))
		}), func(s *appsv1.StatefulSet) []*corev1.Pod {
			return []*corev1.Pod{pod(s, 0, "r1", "ready"), pod(s, 1, "r1", "ready"), pod(s, 2, "r2", "ready")}
		}, ""},
		{"maxUnavailable 2", newSet(3, func(s *appsv1.StatefulSet) {
			s.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = ptr(intstr.FromInt32(2))
		}), func(s *appsv1.StatefulSet) []*corev1.Pod {
			return []*corev1.Pod{pod(s, 0, "r1", "ready"), pod(s, 1, "r1", "ready"), pod(s, 2, "r1", "ready")}
		}, "delete web-2,delete web-1"},
		{"OnDelete leaves old pods", newSet(2, func(s *appsv1.StatefulSet) {
			s.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
		}), func(s *appsv1.StatefulSet) []*corev1.Pod {
			return []*corev1.Pod{pod(s, 0, "r1", "ready"), pod(s, 1, "r1", "ready")}
		}, ""},
	} {
		ops := &fakeOps{}
		_, err := update(context.Background(), ops, tc.set, tc.set, tc.set, "r1", "r2", 0, tc.pods(tc.set), now)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if tc.name == "parallel: all at once" || tc.name == "parallel scale down: all at once" {
			// Order within a batch is not defined.
			sortStrings(ops.actions)
		}
		if got := strings.Join(ops.actions, ","); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func sortStrings(s []string) {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
}

func TestStatusAndIdentity(t *testing.T) {
	set := newSet(3, func(s *appsv1.StatefulSet) {
		s.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}}}
	})
	p := newPod(set, 2)
	if p.Name != "web-2" || p.Spec.Hostname != "web-2" || p.Spec.Subdomain != "web" ||
		p.Labels[appsv1.StatefulSetPodNameLabel] != "web-2" || p.Labels[appsv1.PodIndexLabel] != "2" {
		t.Errorf("identity: %+v", p.ObjectMeta)
	}
	if len(p.Spec.Volumes) != 1 || p.Spec.Volumes[0].PersistentVolumeClaim.ClaimName != "data-web-2" {
		t.Errorf("volumes %+v", p.Spec.Volumes)
	}
	if !identityMatches(set, p) || !storageMatches(set, p) {
		t.Error("a new pod does not match its own identity")
	}
	claims := claimsFor(set, p)
	if c := claims["data"]; c.Name != "data-web-2" || c.Labels["app"] != "web" {
		t.Errorf("claim %+v", c.ObjectMeta)
	}

	st := &appsv1.StatefulSetStatus{}
	replicaStatus(st, 0, "r1", "r2", now, []*corev1.Pod{pod(set, 0, "r1", "ready"), pod(set, 1, "r2", "ready"), pod(set, 2, "r2", "pending"), newPod(set, 3)})
	if st.Replicas != 3 || st.ReadyReplicas != 2 || st.AvailableReplicas != 2 || st.CurrentReplicas != 1 || st.UpdatedReplicas != 2 {
		t.Errorf("status %+v", st)
	}
	st = &appsv1.StatefulSetStatus{Replicas: 3, ReadyReplicas: 3, UpdatedReplicas: 3, CurrentReplicas: 0, CurrentRevision: "r1", UpdateRevision: "r2"}
	completeUpdate(set, st)
	if st.CurrentRevision != "r2" || st.CurrentReplicas != 3 {
		t.Errorf("completed update: %+v", st)
	}
}

func TestClaimRetention(t *testing.T) {
	del := appsv1.DeletePersistentVolumeClaimRetentionPolicyType
	retain := appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	for _, tc := range []struct {
		name                string
		whenDeleted, scaled appsv1.PersistentVolumeClaimRetentionPolicyType
		ordinal             int
		setOwns, podOwns    bool
	}{
		{"retain keeps no owners", retain, retain, 0, false, false},
		{"delete with the set", del, retain, 0, true, false},
		{"delete on scale-down, in range", retain, del, 0, false, false},
		{"delete on scale-down, condemned", retain, del, 5, false, true},
		{"delete both, in range", del, del, 0, true, false},
		{"delete both, condemned", del, del, 5, false, true},
	} {
		set := newSet(2, func(s *appsv1.StatefulSet) {
			s.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{WhenDeleted: tc.whenDeleted, WhenScaled: tc.scaled}
		})
		p := newPod(set, tc.ordinal)
		p.UID = "pod-uid"
		claim := &corev1.PersistentVolumeClaim{}
		setClaimOwners(claim, set, p)
		if hasOwnerRef(claim, set) != tc.setOwns || hasOwnerRef(claim, p) != tc.podOwns {
			t.Errorf("%s: owners %+v", tc.name, claim.OwnerReferences)
		}
		if !claimOwnerUpToDate(claim, set, p) {
			t.Errorf("%s: not up to date after setting owners", tc.name)
		}
	}
}

func TestRevisions(t *testing.T) {
	set := newSet(1, nil)
	r1, err := newRevision(set, 1, ptr(int32(0)))
	if err != nil {
		t.Fatal(err)
	}
	set2 := set.DeepCopy()
	set2.Spec.Template.Spec.Containers = []corev1.Container{{Name: "c", Image: "nginx:2"}}
	r2, _ := newRevision(set2, 2, ptr(int32(0)))
	if equalRevision(r1, r2) || r1.Name == r2.Name || !strings.HasPrefix(r1.Name, "web-") {
		t.Errorf("revisions %s and %s", r1.Name, r2.Name)
	}
	back, err := applyRevision(set2, r1)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Spec.Template.Spec.Containers) != 0 {
		t.Errorf("applying revision 1 kept the new template: %+v", back.Spec.Template.Spec.Containers)
	}
	again, _ := newRevision(back, 3, ptr(int32(0)))
	if !equalRevision(again, r1) {
		t.Error("a rolled-back set does not match its old revision")
	}
}
