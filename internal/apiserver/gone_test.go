package apiserver_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kemudi/kemudi/internal/cluster"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// Continue tokens and watches older than what the server still has get
// 410 Gone, and clients relist (upstream's conformance suite checks this).
func TestGoneWhenHistoryIsCompacted(t *testing.T) {
	s := clustertest.Start(t, func(o *cluster.ServerOptions) { o.CompactInterval = 200 * time.Millisecond })
	ctx := context.Background()
	cms := s.Client.CoreV1().ConfigMaps("default")
	for i := 0; i < 3; i++ {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint("c", i)}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := cms.List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil || page.Continue == "" {
		t.Fatalf("first page: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; ; i++ {
		if time.Now().After(deadline) {
			t.Fatal("continue token never expired")
		}
		// Writes move the revision on; the compactor follows.
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint("n", i)}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		_, err := cms.List(ctx, metav1.ListOptions{Limit: 1, Continue: page.Continue})
		if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
			break
		}
		if err != nil {
			t.Fatalf("continue: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // pacing the writes, not synchronizing
	}

	// A watch from before the server's own history ends with 410.
	s.Restart()
	w, err := s.Client.CoreV1().ConfigMaps("default").Watch(ctx, metav1.ListOptions{ResourceVersion: page.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	select {
	case ev := <-w.ResultChan():
		st, ok := ev.Object.(*metav1.Status)
		if ev.Type != watch.Error || !ok || st.Code != 410 {
			t.Fatalf("old watch got %s %v", ev.Type, ev.Object)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("old watch got nothing")
	}
}
