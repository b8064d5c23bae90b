package storage

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

// Custom objects are stored as JSON and come back as Unstructured, also
// when a new store loads them from etcd (the watch cache at start).
func TestUnstructuredStoredAsJSON(t *testing.T) {
	s, e := newTestStore(t)
	ctx := context.Background()
	key := Prefix + "stable.example.com/crontabs/default/my"
	ct := &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "stable.example.com/v1", "kind": "CronTab",
		"metadata": map[string]interface{}{"name": "my", "namespace": "default"},
		"spec":     map[string]interface{}{"cronSpec": "* * * * */5", "replicas": int64(2)},
	}}
	if _, err := s.Create(ctx, key, ct); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, Prefix+"configmaps/default/c", configMap("default", "c", "1")); err != nil {
		t.Fatal(err)
	}
	resp, err := e.Client().Get(ctx, key)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("etcd get: %v", err)
	}
	if raw := string(resp.Kvs[0].Value); !strings.HasPrefix(raw, `{"apiVersion":"stable.example.com/v1"`) || strings.Contains(raw, "resourceVersion") {
		t.Fatalf("stored %s", raw)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	reopened, err := Open(ctx, e.Client(), scheme, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer reopened.Close()
	for _, tc := range []struct{ key, kind string }{{key, "CronTab"}, {Prefix + "configmaps/default/c", "ConfigMap"}} {
		obj, err := reopened.Get(ctx, tc.key, "")
		if err != nil {
			t.Fatalf("get %s: %v", tc.key, err)
		}
		if got := obj.GetObjectKind().GroupVersionKind().Kind; got != tc.kind {
			t.Errorf("%s: kind %q", tc.key, got)
		}
	}
	obj, _ := reopened.Get(ctx, key, "")
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		t.Fatalf("got %T", obj)
	}
	if r, _, _ := unstructured.NestedInt64(u.Object, "spec", "replicas"); r != 2 || u.GetResourceVersion() == "" {
		t.Errorf("replicas %d rv %q", r, u.GetResourceVersion())
	}
}
