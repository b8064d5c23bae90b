package storage

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// A burst of changes followed by quiet does not keep its decoded
// versions: the history drops them once they are compactAfter old, with
// no later change to trigger it.
func TestQuietHistoryDropsDecodedObjects(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := context.Background()
	if _, err := s.Create(ctx, key("a", "x"), configMap("a", "x", "1")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, key("a", "x"), nil, func(cur runtime.Object) (runtime.Object, error) {
		cur.(*corev1.ConfigMap).Data["k"] = "2"
		return cur, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.cache.waitForRev(ctx, s.Revision()); err != nil {
		t.Fatal(err)
	}
	rc := s.cache.resource("configmaps")
	decoded := func() int {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		n := 0
		for _, e := range rc.history {
			if e.Object != nil || e.Prev != nil {
				n++
			}
		}
		return n
	}
	if decoded() == 0 {
		t.Fatal("fresh history already compacted: the test would prove nothing")
	}
	deadline := time.Now().Add(compactAfter + 5*time.Second)
	for decoded() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d history events still hold decoded objects %s after the last change", decoded(), compactAfter+5*time.Second)
		}
		time.Sleep(50 * time.Millisecond)
	}
	got, err := s.Get(ctx, key("a", "x"), "")
	if err != nil {
		t.Fatal(err)
	}
	if v := got.(*corev1.ConfigMap).Data["k"]; v != "2" {
		t.Fatalf("current object has k=%q, want 2", v)
	}
}
