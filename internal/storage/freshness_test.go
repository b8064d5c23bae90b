package storage

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestFreshnessWaitsForTheSink: Wait answers false while a change stored
// before it was asked has not reached the sink, and true once it has; a
// sink with nothing pending is fresh though other prefixes moved on.
func TestFreshnessWaitsForTheSink(t *testing.T) {
	s, _ := newTestStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	release := make(chan struct{})
	heldCh := make(chan string, 10)
	fresh := &Freshness{}
	sink := Sink{
		Set: func(o runtime.Object) {
			<-release // a sink slow to apply: the graph on a busy machine
			heldCh <- o.(*corev1.ConfigMap).Name
		},
		Delete: func(runtime.Object) {},
		Reset:  func([]runtime.Object) {},
		Fresh:  fresh,
	}
	synced := s.Follow(ctx, Prefix+"configmaps/", sink, slog.New(slog.NewTextHandler(io.Discard, nil)))
	<-synced

	if !waitFresh(t, fresh, s.Revision(), 5*time.Second) {
		t.Fatal("an idle sink is not fresh")
	}
	if _, err := s.Create(ctx, Prefix+"secrets/default/other", configMap("default", "other", "1")); err != nil {
		t.Fatal(err)
	}
	if !waitFresh(t, fresh, s.Revision(), 5*time.Second) {
		t.Fatal("a sink is not fresh after a change under another prefix")
	}

	created, err := s.Create(ctx, key("default", "a"), configMap("default", "a", "1"))
	if err != nil {
		t.Fatal(err)
	}
	rev := ObjectRV(created)
	if waitFresh(t, fresh, rev, 300*time.Millisecond) {
		t.Fatal("fresh while the sink has not applied the create")
	}
	close(release)
	if !waitFresh(t, fresh, rev, 5*time.Second) {
		t.Fatal("not fresh after the sink applied the create")
	}
	select {
	case name := <-heldCh:
		if name != "a" {
			t.Fatalf("the sink was given %q", name)
		}
	default:
		t.Fatal("fresh, but the sink was given nothing")
	}
}

func waitFresh(t *testing.T, f *Freshness, rev int64, d time.Duration) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return f.Wait(ctx, rev)
}
