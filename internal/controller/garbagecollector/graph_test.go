package garbagecollector

import (
	"io"
	"log/slog"
	"sort"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

var (
	rsKind  = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}
	podKind = schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
)

func obj(name string, owners ...string) *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name), ResourceVersion: "1"}}
	yes := true
	for _, o := range owners {
		m.OwnerReferences = append(m.OwnerReferences, metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: o, UID: types.UID(o), BlockOwnerDeletion: &yes})
	}
	return m
}

func drain(gc *GC) (del, orphan []string) {
	for gc.attemptToDelete.Len() > 0 {
		u, _ := gc.attemptToDelete.Get()
		gc.attemptToDelete.Done(u)
		del = append(del, string(u))
	}
	for gc.attemptToOrphan.Len() > 0 {
		u, _ := gc.attemptToOrphan.Get()
		gc.attemptToOrphan.Done(u)
		orphan = append(orphan, string(u))
	}
	sort.Strings(del)
	return del, orphan
}

func TestGraph(t *testing.T) {
	gc := newGC(nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	add := func(gvk schema.GroupVersionKind, m *metav1.PartialObjectMetadata) {
		gc.apply(change{typ: addOrUpdate, gvk: gvk, obj: m})
	}

	// A pod seen before its owner: the owner is virtual, to be checked.
	add(podKind, obj("p1", "rs"))
	if del, _ := drain(gc); len(del) != 1 || del[0] != "rs" {
		t.Fatalf("virtual owner not queued: %v", del)
	}
	if n, _ := gc.graph.get("rs"); n == nil || !n.virtual {
		t.Fatal("no virtual owner")
	}
	add(rsKind, obj("rs"))
	add(podKind, obj("p2", "rs"))
	if n, _ := gc.graph.get("rs"); n.virtual || len(n.dependents) != 2 {
		t.Fatalf("owner %+v", n)
	}
	if del, _ := drain(gc); len(del) != 0 {
		t.Fatalf("queued for nothing: %v", del)
	}

	// Foreground deletion of the owner: its dependents and itself are
	// looked at; it is blocked by both (blockOwnerDeletion).
	rs := obj("rs")
	now := metav1.Now()
	rs.DeletionTimestamp, rs.Finalizers = &now, []string{metav1.FinalizerDeleteDependents}
	add(rsKind, rs)
	if del, _ := drain(gc); len(del) != 3 {
		t.Fatalf("foreground: queued %v", del)
	}
	v, _ := gc.graph.view("rs")
	if !v.deletingDependents || len(v.blocking) != 2 {
		t.Fatalf("view %+v", v)
	}
	// One dependent goes: the owner is looked at again.
	gc.apply(change{typ: deletion, gvk: podKind, obj: obj("p1", "rs")})
	if del, _ := drain(gc); len(del) != 1 || del[0] != "rs" {
		t.Fatalf("after a dependent went: %v", del)
	}
	// The other stops blocking: looked at again too.
	p2 := obj("p2", "rs")
	no := false
	p2.OwnerReferences[0].BlockOwnerDeletion = &no
	add(podKind, p2)
	if del, _ := drain(gc); len(del) != 1 || del[0] != "rs" {
		t.Fatalf("after unblocking: %v", del)
	}
	if v, _ := gc.graph.view("rs"); len(v.blocking) != 0 {
		t.Fatalf("still blocked by %v", v.blocking)
	}

	// The owner goes: its dependent is looked at, and the owner is
	// remembered as absent.
	gc.apply(change{typ: deletion, gvk: rsKind, obj: rs})
	if del, _ := drain(gc); len(del) != 1 || del[0] != "p2" {
		t.Fatalf("after the owner went: %v", del)
	}
	if !gc.absent.has(ref{APIVersion: "apps/v1", Kind: "ReplicaSet", Namespace: "ns", Name: "rs", UID: "rs"}) {
		t.Fatal("owner not remembered as absent")
	}

	// Orphan deletion starts once.
	o := obj("owner2")
	o.DeletionTimestamp, o.Finalizers = &now, []string{metav1.FinalizerOrphanDependents}
	add(rsKind, o)
	add(rsKind, o)
	if _, orphan := drain(gc); len(orphan) != 1 || orphan[0] != "owner2" {
		t.Fatalf("orphaning queued %v", orphan)
	}
}

func TestDiffOwners(t *testing.T) {
	yes, no := true, false
	a := metav1.OwnerReference{UID: "a", BlockOwnerDeletion: &yes}
	b := metav1.OwnerReference{UID: "b"}
	aUnblocked := metav1.OwnerReference{UID: "a", BlockOwnerDeletion: &no}
	c := metav1.OwnerReference{UID: "c"}
	added, removed, unblocked := diffOwners([]metav1.OwnerReference{a, b}, []metav1.OwnerReference{aUnblocked, c})
	if len(added) != 1 || added[0].UID != "c" || len(removed) != 1 || removed[0].UID != "b" || len(unblocked) != 1 || unblocked[0].UID != "a" {
		t.Fatalf("added %v removed %v unblocked %v", added, removed, unblocked)
	}
}
