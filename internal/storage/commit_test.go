package storage

import (
	"context"
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestWriteAfterDeadlineStoresNothing: a create, update or delete asked
// for once its context is over fails with the context's error and
// changes nothing (the embedded client would otherwise still propose it).
func TestWriteAfterDeadlineStoresNothing(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := context.Background()
	if _, err := s.Create(ctx, key("a", "kept"), configMap("a", "kept", "1")); err != nil {
		t.Fatal(err)
	}
	over, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer cancel()
	writes := []struct {
		name  string
		write func() error
	}{
		{"create", func() error {
			_, err := s.Create(over, key("a", "late"), configMap("a", "late", "1"))
			return err
		}},
		{"update", func() error {
			_, err := s.Update(over, key("a", "kept"), nil, func(cur runtime.Object) (runtime.Object, error) {
				cur.(*corev1.ConfigMap).Data["k"] = "2"
				return cur, nil
			})
			return err
		}},
		{"delete", func() error {
			_, err := s.Delete(over, key("a", "kept"), nil, nil)
			return err
		}},
	}
	for _, w := range writes {
		if err := w.write(); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s after the deadline: got %v, want context deadline exceeded", w.name, err)
		}
	}
	if _, err := s.Get(ctx, key("a", "late"), ""); !HasCode(err, CodeNotFound) {
		t.Errorf("late create stored: get says %v", err)
	}
	got, err := s.Get(ctx, key("a", "kept"), "")
	if err != nil || got.(*corev1.ConfigMap).Data["k"] != "1" {
		t.Errorf("kept object changed: %v, %v", got, err)
	}
}
