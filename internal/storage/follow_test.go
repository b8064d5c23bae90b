package storage

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// recordingSink keeps what Follow gives it, by name.
type recordingSink struct {
	mu     sync.Mutex
	held   map[string]string // name -> data["k"]
	resets int
}

func (r *recordingSink) sink() Sink {
	put := func(o runtime.Object) {
		cm := o.(*corev1.ConfigMap)
		r.held[cm.Name] = cm.Data["k"]
	}
	return Sink{
		Set: func(o runtime.Object) { r.mu.Lock(); defer r.mu.Unlock(); put(o) },
		Delete: func(o runtime.Object) {
			r.mu.Lock()
			defer r.mu.Unlock()
			delete(r.held, o.(*corev1.ConfigMap).Name)
		},
		Reset: func(objs []runtime.Object) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.resets++
			r.held = map[string]string{}
			for _, o := range objs {
				put(o)
			}
		},
	}
}

func (r *recordingSink) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for n, v := range r.held {
		out = append(out, n+"="+v)
	}
	sort.Strings(out)
	return out
}

// TestFollowFeedsASink: the objects that exist arrive in one Reset before
// synced closes, then creates, updates and deletes arrive one by one;
// objects of other prefixes never do.
func TestFollowFeedsASink(t *testing.T) {
	s, _ := newTestStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, name := range []string{"a", "b"} {
		if _, err := s.Create(ctx, key("default", name), configMap("default", name, "1")); err != nil {
			t.Fatal(err)
		}
	}
	r := &recordingSink{held: map[string]string{}}
	synced := s.Follow(ctx, Prefix+"configmaps/", r.sink(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	select {
	case <-synced:
	case <-time.After(10 * time.Second):
		t.Fatal("not synced")
	}
	if got := r.names(); len(got) != 2 || got[0] != "a=1" || got[1] != "b=1" || r.resets != 1 {
		t.Fatalf("after sync: %v, %d resets", got, r.resets)
	}

	if _, err := s.Create(ctx, key("default", "c"), configMap("default", "c", "1")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, key("default", "a"), nil, func(runtime.Object) (runtime.Object, error) {
		return configMap("default", "a", "2"), nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, key("default", "b"), nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, Prefix+"configmapsx/default/other", configMap("default", "other", "1")); err != nil {
		t.Fatal(err)
	}
	want := "[a=2 c=1]"
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := r.names()
		if fmt.Sprint(got) == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sink holds %v, want %s", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
