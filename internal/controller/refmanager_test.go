package controller

import (
	"context"
	"encoding/json"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

func TestClaim(t *testing.T) {
	kind := schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}
	owner := &metav1.ObjectMeta{Name: "rs", Namespace: "ns", UID: "owner"}
	other := ControllerRef(&metav1.ObjectMeta{Name: "x", UID: "other"}, kind)
	mine := ControllerRef(owner, kind)
	pod := func(name string, app string, ref *metav1.OwnerReference, deleting bool) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name), Labels: map[string]string{"app": app}}}
		if ref != nil {
			p.OwnerReferences = []metav1.OwnerReference{*ref}
		}
		if deleting {
			now := metav1.Now()
			p.DeletionTimestamp = &now
		}
		return p
	}
	pods := []*corev1.Pod{
		pod("orphan-match", "web", nil, false),
		pod("orphan-nomatch", "db", nil, false),
		pod("orphan-deleting", "web", nil, true),
		pod("mine-match", "web", mine, false),
		pod("mine-nomatch", "db", mine, false),
		pod("other", "web", other, false),
	}
	patched := map[string]string{}
	m := &RefManager{
		Owner: owner, Kind: kind,
		Selector: labels.SelectorFromSet(labels.Set{"app": "web"}),
		Patch: func(_ context.Context, ns, name string, patch []byte) error {
			var v map[string]any
			if err := json.Unmarshal(patch, &v); err != nil {
				t.Fatal(err)
			}
			patched[name] = string(patch)
			return nil
		},
	}
	got, err := Claim(context.Background(), m, pods)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range got {
		names = append(names, p.Name)
	}
	if len(names) != 2 || names[0] != "orphan-match" || names[1] != "mine-match" {
		t.Errorf("claimed %v, want [orphan-match mine-match]", names)
	}
	if _, ok := patched["orphan-match"]; !ok {
		t.Errorf("orphan not adopted: %v", patched)
	}
	if _, ok := patched["mine-nomatch"]; !ok {
		t.Errorf("owned non-matching pod not released: %v", patched)
	}
	if len(patched) != 2 {
		t.Errorf("patched %v, want only the adoption and the release", patched)
	}

	// A CanAdopt refusal blocks adoption, not claiming what is owned.
	m2 := &RefManager{Owner: owner, Kind: kind, Selector: m.Selector, Patch: m.Patch,
		CanAdopt: func(context.Context) error { return context.Canceled }}
	got, err = Claim(context.Background(), m2, []*corev1.Pod{pod("o2", "web", nil, false), pod("m2", "web", mine, false)})
	if err == nil || len(got) != 1 || got[0].Name != "m2" {
		t.Errorf("with refused adoption: got %d pods, err %v", len(got), err)
	}
}
