package apiserver_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// The metadata client (the garbage collector's, and kubectl's for some
// commands) gets objects' metadata from get, list and watch.
func TestPartialObjectMetadata(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "meta", Namespace: "default", Labels: map[string]string{"a": "b"}}}
	created, err := s.Client.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	md := metadata.NewForConfigOrDie(s.Config).Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace("default")
	check := func(what string, m *metav1.PartialObjectMetadata) {
		t.Helper()
		if m.Name != "meta" || m.UID != created.UID || m.ResourceVersion == "" || m.Labels["a"] != "b" {
			t.Errorf("%s: %+v", what, m.ObjectMeta)
		}
	}
	got, err := md.Get(ctx, "meta", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	check("get", got)
	list, err := md.List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=meta"})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("list: %v %v", err, list)
	}
	check("list", &list.Items[0])
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	w, err := md.Watch(wctx, metav1.ListOptions{FieldSelector: "metadata.name=meta", ResourceVersion: "0"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ev := <-w.ResultChan()
	m, ok := ev.Object.(*metav1.PartialObjectMetadata)
	if !ok {
		t.Fatalf("watch event %s %T", ev.Type, ev.Object)
	}
	check("watch", m)
}
