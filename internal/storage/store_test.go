package storage

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

func newTestStore(t *testing.T) (*Store, *Embedded) {
	t.Helper()
	ctx := context.Background()
	e, err := StartEmbedded(ctx, t.TempDir(), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, e.Client(), scheme, slog.Default())
	if err != nil {
		e.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); e.Close() })
	return s, e
}

func configMap(ns, name, value string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": name}},
		Data:       map[string]string{"k": value},
	}
}

func key(ns, name string) string { return Prefix + "configmaps/" + ns + "/" + name }

func TestCreateGetUpdateDelete(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := context.Background()
	created, err := s.Create(ctx, key("a", "one"), configMap("a", "one", "1"))
	if err != nil {
		t.Fatal(err)
	}
	rv1 := ObjectRV(created)
	if rv1 == 0 {
		t.Fatal("create returned no resourceVersion")
	}
	if _, err := s.Create(ctx, key("a", "one"), configMap("a", "one", "1")); !HasCode(err, CodeExists) {
		t.Fatalf("second create: got %v, want exists", err)
	}
	got, err := s.Get(ctx, key("a", "one"), "")
	if err != nil || got.(*corev1.ConfigMap).Data["k"] != "1" || ObjectRV(got) != rv1 {
		t.Fatalf("get: %v %v", got, err)
	}
	stale := fmt.Sprint(rv1 - 1)
	if _, err := s.Update(ctx, key("a", "one"), &Preconditions{ResourceVersion: &stale}, func(cur runtime.Object) (runtime.Object, error) {
		return cur, nil
	}); !HasCode(err, CodeConflict) {
		t.Fatalf("stale update: got %v, want conflict", err)
	}
	updated, err := s.Update(ctx, key("a", "one"), nil, func(cur runtime.Object) (runtime.Object, error) {
		cur.(*corev1.ConfigMap).Data["k"] = "2"
		return cur, nil
	})
	if err != nil || ObjectRV(updated) <= rv1 {
		t.Fatalf("update: %v rv %d", err, ObjectRV(updated))
	}
	same, err := s.Update(ctx, key("a", "one"), nil, func(cur runtime.Object) (runtime.Object, error) { return cur, nil })
	if err != nil || ObjectRV(same) != ObjectRV(updated) {
		t.Fatalf("no-op update wrote: rv %d -> %d (%v)", ObjectRV(updated), ObjectRV(same), err)
	}
	deleted, err := s.Delete(ctx, key("a", "one"), nil, nil)
	if err != nil || ObjectRV(deleted) <= ObjectRV(updated) {
		t.Fatalf("delete: %v", err)
	}
	if _, err := s.Get(ctx, key("a", "one"), ""); !HasCode(err, CodeNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
}

// Concurrent updates of one object all land: none is lost.
func TestConcurrentUpdatesAreNotLost(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := context.Background()
	if _, err := s.Create(ctx, key("a", "n"), configMap("a", "n", "")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Update(ctx, key("a", "n"), nil, func(cur runtime.Object) (runtime.Object, error) {
				cur.(*corev1.ConfigMap).Data["k"] += "x"
				return cur, nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, _ := s.Get(ctx, key("a", "n"), "")
	if v := got.(*corev1.ConfigMap).Data["k"]; len(v) != 20 {
		t.Fatalf("got %d updates, want 20", len(v))
	}
}

func TestListPagesAndSelects(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := context.Background()
	for i := 0; i < 7; i++ {
		if _, err := s.Create(ctx, key("a", fmt.Sprintf("c%d", i)), configMap("a", fmt.Sprintf("c%d", i), "")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Create(ctx, key("b", "other"), configMap("b", "other", "")); err != nil {
		t.Fatal(err)
	}
	all, err := s.List(ctx, Prefix+"configmaps/", ListOptions{})
	if err != nil || len(all.Items) != 8 {
		t.Fatalf("list all: %d items, %v", len(all.Items), err)
	}
	var names []string
	opts := ListOptions{Limit: 3}
	pages := 0
	for {
		page, err := s.List(ctx, Prefix+"configmaps/a/", opts)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, it := range page.Items {
			names = append(names, it.(*corev1.ConfigMap).Name)
		}
		if page.Continue == "" {
			break
		}
		if page.Remaining == nil || *page.Remaining != int64(7-len(names)) {
			t.Fatalf("remaining after %d: %v", len(names), page.Remaining)
		}
		opts.Continue = page.Continue
	}
	if pages != 3 || fmt.Sprint(names) != "[c0 c1 c2 c3 c4 c5 c6]" {
		t.Fatalf("pages %d names %v", pages, names)
	}
	sel, _ := s.List(ctx, Prefix+"configmaps/", ListOptions{Predicate: func(o runtime.Object) bool {
		return o.(*corev1.ConfigMap).Labels["app"] == "c3"
	}})
	if len(sel.Items) != 1 {
		t.Fatalf("selector: %d items", len(sel.Items))
	}
	if _, err := s.List(ctx, Prefix+"configmaps/", ListOptions{Continue: "garbage"}); !HasCode(err, CodeInvalid) {
		t.Fatalf("bad continue: %v", err)
	}
}

func next(t *testing.T, w *Watch) *Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e, err := w.Next(ctx)
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	return e
}

func TestWatchResumesAndExpires(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := context.Background()
	c1, _ := s.Create(ctx, key("a", "w1"), configMap("a", "w1", ""))
	c2, _ := s.Create(ctx, key("a", "w2"), configMap("a", "w2", ""))

	// Resume after the first create: only the second arrives, then live ones.
	w, err := s.Watch(ctx, Prefix+"configmaps/", WatchOptions{ResourceVersion: fmt.Sprint(ObjectRV(c1))})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if e := next(t, w); e.Type != watch.Added || e.Rev != ObjectRV(c2) {
		t.Fatalf("first event %v %d", e.Type, e.Rev)
	}
	if _, err := s.Delete(ctx, key("a", "w1"), nil, nil); err != nil {
		t.Fatal(err)
	}
	if e := next(t, w); e.Type != watch.Deleted || e.Object.(*corev1.ConfigMap).Name != "w1" {
		t.Fatalf("want deleted w1, got %v", e.Type)
	}

	// A label watch sees an object leave its selection as Deleted.
	lw, err := s.Watch(ctx, Prefix+"configmaps/", WatchOptions{ResourceVersion: "0", Predicate: func(o runtime.Object) bool {
		return o.(*corev1.ConfigMap).Labels["app"] == "w2"
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer lw.Stop()
	if e := next(t, lw); e.Type != watch.Added {
		t.Fatalf("initial: %v", e.Type)
	}
	if _, err := s.Update(ctx, key("a", "w2"), nil, func(cur runtime.Object) (runtime.Object, error) {
		cur.(*corev1.ConfigMap).Labels["app"] = "moved"
		return cur, nil
	}); err != nil {
		t.Fatal(err)
	}
	if e := next(t, lw); e.Type != watch.Deleted {
		t.Fatalf("relabel: %v", e.Type)
	}

	// A watch from before the cache's history gets 410 Gone.
	rc := s.cache.resource("configmaps")
	rc.mu.Lock()
	rc.historyFrom = ObjectRV(c2)
	rc.mu.Unlock()
	if _, err := s.Watch(ctx, Prefix+"configmaps/", WatchOptions{ResourceVersion: fmt.Sprint(ObjectRV(c1))}); !HasCode(err, CodeExpired) {
		t.Fatalf("old watch: %v", err)
	}
}

func TestWatchInitialEventsEndWithBookmark(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := context.Background()
	s.Create(ctx, key("a", "x"), configMap("a", "x", ""))
	w, err := s.Watch(ctx, Prefix+"configmaps/", WatchOptions{SendInitialEvents: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if e := next(t, w); e.Type != watch.Added {
		t.Fatalf("got %v", e.Type)
	}
	if e := next(t, w); e.Type != watch.Bookmark || !e.InitialEventsEnd || e.Rev < s.Revision() {
		t.Fatalf("got %+v", e)
	}
}

// Objects of a resource with a TTL disappear after it, and watchers see
// them go.
func TestTTLExpiresObjects(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := context.Background()
	s.SetTTL("configmaps", time.Second)
	w, err := s.Watch(ctx, Prefix+"configmaps/", WatchOptions{ResourceVersion: fmt.Sprint(s.Revision())})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if _, err := s.Create(ctx, key("a", "short"), configMap("a", "short", "")); err != nil {
		t.Fatal(err)
	}
	if e := next(t, w); e.Type != watch.Added {
		t.Fatalf("got %v", e.Type)
	}
	if e := next(t, w); e.Type != watch.Deleted {
		t.Fatalf("got %v, want the expiry", e.Type)
	}
	if _, err := s.Get(ctx, key("a", "short"), ""); !HasCode(err, CodeNotFound) {
		t.Fatalf("after TTL: %v", err)
	}
}

// A watch resuming from history that kept only stored bytes gets the same
// events, objects and selector semantics as one served from fresh history.
func TestWatchResumesFromCompactedHistory(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := context.Background()
	start := s.Revision()
	s.Create(ctx, key("a", "x"), configMap("a", "x", "1"))
	s.Update(ctx, key("a", "x"), nil, func(cur runtime.Object) (runtime.Object, error) {
		cur.(*corev1.ConfigMap).Data["k"] = "2"
		return cur, nil
	})
	s.Update(ctx, key("a", "x"), nil, func(cur runtime.Object) (runtime.Object, error) {
		cur.(*corev1.ConfigMap).Labels["app"] = "gone"
		return cur, nil
	})
	s.Delete(ctx, key("a", "x"), nil, nil)
	if err := s.cache.waitForRev(ctx, s.Revision()); err != nil {
		t.Fatal(err)
	}
	rc := s.cache.resource("configmaps")
	rc.mu.Lock()
	rc.compactHistory(time.Now().Add(time.Hour))
	for _, e := range rc.history {
		if e.Object != nil || e.Prev != nil {
			t.Fatal("history not compacted")
		}
	}
	rc.mu.Unlock()

	w, err := s.Watch(ctx, Prefix+"configmaps/", WatchOptions{ResourceVersion: fmt.Sprint(start)})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	var got []string
	for i := 0; i < 4; i++ {
		e := next(t, w)
		cm := e.Object.(*corev1.ConfigMap)
		got = append(got, fmt.Sprintf("%s:%s:%s:%v", e.Type, cm.Data["k"], cm.Labels["app"], ObjectRV(cm) == e.Rev))
	}
	if fmt.Sprint(got) != "[ADDED:1:x:true MODIFIED:2:x:true MODIFIED:2:gone:true DELETED:2:gone:true]" {
		t.Fatalf("replayed %v", got)
	}
	// A selector watch sees the relabel as a deletion.
	lw, err := s.Watch(ctx, Prefix+"configmaps/", WatchOptions{ResourceVersion: fmt.Sprint(start), Predicate: func(o runtime.Object) bool {
		return o.(*corev1.ConfigMap).Labels["app"] == "x"
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer lw.Stop()
	var types []string
	for i := 0; i < 3; i++ {
		types = append(types, string(next(t, lw).Type))
	}
	if fmt.Sprint(types) != "[ADDED MODIFIED DELETED]" {
		t.Fatalf("selector replay %v", types)
	}
}
