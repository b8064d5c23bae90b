package job

import (
	"log/slog"
	"reflect"
	"sort"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kemudi/kemudi/internal/controller"
)

// TestTrackingHandlers: the pod events the tracking finalizer cares
// about, beside the OwnerHandler's mapping of pods to Jobs.
func TestTrackingHandlers(t *testing.T) {
	running := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "run", UID: "uid-run"}}
	done := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "done", UID: "uid-done"},
		Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}}}
	pod := func(rv string, owner *batchv1.Job, finalizer bool, deleting bool) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "uid-p", ResourceVersion: rv}}
		if owner != nil {
			p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: owner.Name, UID: owner.UID, Controller: ptr(true)}}
		}
		if finalizer {
			p.Finalizers = []string{batchv1.JobTrackingFinalizer}
		}
		if deleting {
			p.DeletionTimestamp = &metav1.Time{Time: time.Unix(1, 0)}
		}
		return p
	}
	type event struct {
		kind     string
		old, cur interface{}
	}
	tests := []struct {
		name string
		ev   event
		// observed: the Jobs whose wait for the pod's finalizer removal
		// ended; orphans: whether the pod went to the orphan loop.
		observed []string
		orphans  bool
	}{
		{"orphan with the finalizer added", event{"add", nil, pod("1", nil, true, false)}, nil, true},
		{"orphan without it", event{"add", nil, pod("1", nil, false, false)}, nil, false},
		{"owned pod added", event{"add", nil, pod("1", running, true, false)}, nil, false},
		{"finalizer removed", event{"update", pod("1", running, true, false), pod("2", running, false, false)}, []string{"ns/run"}, false},
		{"finalizer removed while released", event{"update", pod("1", running, true, false), pod("2", nil, false, false)}, []string{"ns/run"}, false},
		{"released with the finalizer", event{"update", pod("1", running, true, false), pod("2", nil, true, false)}, nil, true},
		{"resync", event{"update", pod("1", running, true, false), pod("1", running, false, false)}, nil, false},
		{"deletion began, finalizer still there", event{"update", pod("1", running, true, false), pod("2", running, true, true)}, nil, false},
		{"deletion began, finalizer gone", event{"update", pod("1", running, true, false), pod("2", running, false, true)}, []string{"ns/run"}, false},
		{"deleted, last seen with the finalizer", event{"delete", nil, cache.DeletedFinalStateUnknown{Key: "ns/p", Obj: pod("1", running, true, true)}}, []string{"ns/run"}, false},
		{"pod of a finished Job being deleted", event{"update", pod("1", done, true, false), pod("2", done, true, true)}, nil, true},
		{"pod of a Job gone", event{"delete", nil, pod("1", &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "gone", UID: "uid-gone"}}, true, true)}, nil, true},
		{"not a pod", event{"add", nil, "junk"}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
			for _, j := range []*batchv1.Job{running, done} {
				if err := idx.Add(j); err != nil {
					t.Fatal(err)
				}
			}
			jc := &Controller{
				jobs:       batchlisters.NewJobLister(idx),
				finalizers: newUIDExpectations(),
				orphans:    controller.NewLoop("orphans", nil, slog.New(slog.DiscardHandler)),
			}
			t.Cleanup(jc.orphans.Queue.ShutDown)
			for _, k := range []string{"ns/run", "ns/done"} {
				jc.finalizers.expect(k, []types.UID{"uid-p"})
			}
			hs := jc.trackingHandlers()
			switch tt.ev.kind {
			case "add":
				hs.OnAdd(tt.ev.cur, false)
			case "update":
				hs.OnUpdate(tt.ev.old, tt.ev.cur)
			case "delete":
				hs.OnDelete(tt.ev.cur)
			}
			var observed []string
			for _, k := range []string{"ns/done", "ns/run"} {
				if !jc.finalizers.get(k)["uid-p"] {
					observed = append(observed, k)
				}
			}
			sort.Strings(observed)
			if !reflect.DeepEqual(observed, tt.observed) {
				t.Errorf("finalizer removal seen for %q, want %q", observed, tt.observed)
			}
			if got := jc.orphans.Queue.Len() == 1; got != tt.orphans {
				t.Errorf("pod sent to the orphan loop: %v, want %v", got, tt.orphans)
			}
		})
	}
}
