package endpointslice

import (
	"testing"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func slice(uid string, gen int64) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid), Generation: gen}}
}

func TestTracker(t *testing.T) {
	tr := newTracker()
	k := "ns/web"
	if tr.stale(k, nil) {
		t.Error("untracked service is stale")
	}
	tr.wrote(k, slice("a", 1))
	if !tr.stale(k, nil) {
		t.Error("a created slice missing from the cache is not stale")
	}
	if tr.observe(k, slice("a", 1), false) {
		t.Error("own create event queued a sync")
	}
	if tr.stale(k, []*discoveryv1.EndpointSlice{slice("a", 1)}) {
		t.Error("cache with the write is stale")
	}
	tr.wrote(k, slice("a", 2))
	if !tr.stale(k, []*discoveryv1.EndpointSlice{slice("a", 1)}) {
		t.Error("older generation is not stale")
	}
	if tr.observe(k, slice("a", 1), false) {
		t.Error("an older event queued a sync")
	}
	if !tr.observe(k, slice("a", 3), false) {
		t.Error("someone else's update did not queue a sync")
	}
	tr.deleted(k, "a")
	if !tr.stale(k, []*discoveryv1.EndpointSlice{slice("a", 3)}) {
		t.Error("a deleted slice still cached is not stale")
	}
	if tr.observe(k, slice("a", 3), true) {
		t.Error("own delete event queued a sync")
	}
	if tr.stale(k, nil) {
		t.Error("stale after the delete was seen")
	}
	if !tr.observe(k, slice("b", 1), true) {
		t.Error("someone else's delete did not queue a sync")
	}
}
