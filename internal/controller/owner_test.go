package controller

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

func TestOwnerHandler(t *testing.T) {
	rsA := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "a", UID: "uid-a"}, Spec: appsv1.ReplicaSetSpec{MinReadySeconds: 10}}
	rsB := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "b", UID: "uid-b"}}
	owned := func(rs *appsv1.ReplicaSet) []metav1.OwnerReference {
		return []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: ptr.To(true)}}
	}
	pod := func(rv string, mutate ...func(*corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", ResourceVersion: rv, Labels: map[string]string{"app": "a"}}}
		for _, m := range mutate {
			m(p)
		}
		return p
	}
	ownedBy := func(rs *appsv1.ReplicaSet) func(*corev1.Pod) {
		return func(p *corev1.Pod) { p.OwnerReferences = owned(rs) }
	}
	ready := func(p *corev1.Pod) {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	}
	deleting := func(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{Time: time.Unix(1, 0)} }
	relabel := func(p *corev1.Pod) { p.Labels = map[string]string{"app": "b"} }

	type event struct {
		kind     string // add, update, delete
		old, cur interface{}
	}
	tests := []struct {
		name string
		ev   event
		// what the handler did, in order: "enqueue a", "after a 11s",
		// "created a", "deleted a".
		want []string
	}{
		{"owned pod added", event{"add", nil, pod("1", ownedBy(rsA))}, []string{"created a", "enqueue a"}},
		{"orphan added: its adopters", event{"add", nil, pod("1")}, []string{"enqueue a"}},
		{"added while being deleted is a deletion", event{"add", nil, pod("1", ownedBy(rsA), deleting)}, []string{"deleted a", "enqueue a"}},
		{"owner of another kind", event{"add", nil, pod("1", func(p *corev1.Pod) {
			p.OwnerReferences = []metav1.OwnerReference{{Kind: "StatefulSet", Name: "a", UID: "uid-a", Controller: ptr.To(true)}}
		})}, nil},
		{"owner recreated under the same name", event{"add", nil, pod("1", func(p *corev1.Pod) {
			p.OwnerReferences = owned(&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "a", UID: "old-uid"}})
		})}, nil},
		{"owner gone", event{"add", nil, pod("1", ownedBy(&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "gone", UID: "uid-gone"}}))}, nil},
		{"resync", event{"update", pod("1", ownedBy(rsA)), pod("1", ownedBy(rsA))}, nil},
		{"owned pod changed", event{"update", pod("1", ownedBy(rsA)), pod("2", ownedBy(rsA))}, []string{"enqueue a"}},
		{"pod became ready: again once available, a second late", event{"update", pod("1", ownedBy(rsA)), pod("2", ownedBy(rsA), ready)},
			[]string{"enqueue a", "after a 11s"}},
		{"ready pod of a set without minReadySeconds", event{"update", pod("1", ownedBy(rsB)), pod("2", ownedBy(rsB), ready)}, []string{"enqueue b"}},
		{"controller changed: both owners", event{"update", pod("1", ownedBy(rsA)), pod("2", ownedBy(rsB))}, []string{"enqueue a", "enqueue b"}},
		{"released: old owner and adopters", event{"update", pod("1", ownedBy(rsB)), pod("2")}, []string{"enqueue b", "enqueue a"}},
		{"orphan relabelled: adopters", event{"update", pod("1"), pod("2", relabel)}, []string{"enqueue b"}},
		{"orphan changed otherwise: nothing", event{"update", pod("1"), pod("2", ready)}, nil},
		{"deletion began", event{"update", pod("1", ownedBy(rsA)), pod("2", ownedBy(rsA), deleting)}, []string{"deleted a", "enqueue a"}},
		{"deletion began with new labels: counted once per owner", event{"update", pod("1", ownedBy(rsA)), pod("2", ownedBy(rsA), deleting, relabel)},
			[]string{"deleted a", "enqueue a", "deleted a", "enqueue a"}},
		{"deleted", event{"delete", nil, pod("1", ownedBy(rsA))}, []string{"deleted a", "enqueue a"}},
		{"deleted, seen as a tombstone", event{"delete", nil, cache.DeletedFinalStateUnknown{Key: "ns/p", Obj: pod("1", ownedBy(rsA))}}, []string{"deleted a", "enqueue a"}},
		{"orphan deleted", event{"delete", nil, pod("1")}, nil},
		{"not an object", event{"add", nil, "junk"}, nil},
	}
	sets := map[string]*appsv1.ReplicaSet{"a": rsA, "b": rsB}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			h := &OwnerHandler[*appsv1.ReplicaSet]{
				Kind: "ReplicaSet",
				Get: func(ns, name string) (*appsv1.ReplicaSet, error) {
					if rs, ok := sets[name]; ok && ns == "ns" {
						return rs, nil
					}
					return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "replicasets"}, name)
				},
				Adopters: func(o metav1.Object) []*appsv1.ReplicaSet {
					// Each set selects app=<its name>.
					if rs, ok := sets[o.GetLabels()["app"]]; ok {
						return []*appsv1.ReplicaSet{rs}
					}
					return nil
				},
				Enqueue:         func(rs *appsv1.ReplicaSet) { got = append(got, "enqueue "+rs.Name) },
				MinReadySeconds: func(rs *appsv1.ReplicaSet) int32 { return rs.Spec.MinReadySeconds },
				EnqueueAfter: func(rs *appsv1.ReplicaSet, d time.Duration) {
					got = append(got, fmt.Sprintf("after %s %s", rs.Name, d))
				},
				Created: func(rs *appsv1.ReplicaSet, _ metav1.Object) { got = append(got, "created "+rs.Name) },
				Deleted: func(rs *appsv1.ReplicaSet, _ metav1.Object) { got = append(got, "deleted "+rs.Name) },
			}
			hs := h.Handlers()
			switch tt.ev.kind {
			case "add":
				hs.OnAdd(tt.ev.cur, false)
			case "update":
				hs.OnUpdate(tt.ev.old, tt.ev.cur)
			case "delete":
				hs.OnDelete(tt.ev.cur)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
