package apiserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// hangingConverter reads each ConversionReview and never answers it
// (but those to answerTo, which it converts): it reports when a call
// starts and when the API server gives it up.
type hangingConverter struct {
	started, ended chan struct{}
	release        chan struct{}
	answerTo       atomic.Value // string: a desiredAPIVersion converted
}

func (h *hangingConverter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The whole body read: net/http then watches the connection and
	// ends r's context when the caller drops it.
	body, _ := io.ReadAll(r.Body)
	var review apiextensionsv1.ConversionReview
	if json.Unmarshal(body, &review) == nil && review.Request != nil && review.Request.DesiredAPIVersion == h.answerTo.Load() {
		r.Body = io.NopCloser(bytes.NewReader(body))
		(&hostPortConverter{}).ServeHTTP(w, r)
		return
	}
	h.started <- struct{}{}
	select {
	case <-r.Context().Done():
		h.ended <- struct{}{}
	case <-h.release:
	}
}

// TestConversionWebhookCallEndsWithTheRequest: a client that gives up a
// get, a list, an update or a watch in a version its CRD's hanging
// conversion webhook converts to ends the webhook call within seconds,
// not at the webhook's 30 s timeout.
func TestConversionWebhookCallEndsWithTheRequest(t *testing.T) {
	s := clustertest.Start(t)
	conv := &hangingConverter{started: make(chan struct{}, 8), ended: make(chan struct{}, 8), release: make(chan struct{})}
	conv.answerTo.Store("")
	base, ca := startTLSWebhook(t, conv)
	// Handlers still waiting are let go before the server closes.
	t.Cleanup(func() { close(conv.release) })
	ext := apiextensionsclient.NewForConfigOrDie(s.Config)
	createCRD(t, ext, hostPortWebhookCRD(base+"/convert", ca), established)
	dyn := dynamic.NewForConfigOrDie(s.Config)
	gvr := schema.GroupVersionResource{Group: "stable.example.com", Resource: "e2e-test-crds"}
	gvr.Version = "v1"
	v1 := dyn.Resource(gvr).Namespace("default")
	gvr.Version = "v2"
	v2 := dyn.Resource(gvr).Namespace("default")
	ctx := context.Background()
	// Stored in v1, the storage version: written without the webhook.
	for _, name := range []string{"a", "b"} {
		if _, err := v1.Create(ctx, hostPortObject("v1", name, map[string]interface{}{"hostPort": "localhost:80"}), metav1.CreateOptions{FieldManager: "v1-writer"}); err != nil {
			t.Fatalf("create %s in v1: %v", name, err)
		}
	}
	// Applied in v1: its managed fields are tracked, in v1.
	if _, err := v1.Apply(ctx, "c", hostPortObject("v1", "c", map[string]interface{}{"hostPort": "localhost:80"}), metav1.ApplyOptions{FieldManager: "v1-applier"}); err != nil {
		t.Fatalf("apply c in v1: %v", err)
	}

	for _, tc := range []struct {
		name string
		// run does what the client asks in v2 with ctx; it returns once
		// the webhook has been called, or fails.
		run func(ctx context.Context) error
		// deadline: the client's own deadline ends the request, rather
		// than the client cancelling it.
		deadline bool
		// answerTo: the webhook converts to this version, and hangs for
		// the others.
		answerTo string
	}{
		{name: "get", run: func(ctx context.Context) error { _, err := v2.Get(ctx, "a", metav1.GetOptions{}); return err }},
		{name: "get with a client deadline", deadline: true, run: func(ctx context.Context) error { _, err := v2.Get(ctx, "a", metav1.GetOptions{}); return err }},
		{name: "list", run: func(ctx context.Context) error { _, err := v2.List(ctx, metav1.ListOptions{}); return err }},
		// The object was applied in v1 by another manager: the field
		// manager converts it to v1 for that manager's fields, a call the
		// webhook does not answer.
		{name: "update in v2 of an object v1's manager applied", answerTo: "stable.example.com/v2", run: func(ctx context.Context) error {
			cur, err := v2.Get(ctx, "c", metav1.GetOptions{})
			if err != nil {
				return err
			}
			cur.SetLabels(map[string]string{"updated": "in-v2"})
			_, err = v2.Update(ctx, cur, metav1.UpdateOptions{FieldManager: "v2-writer"})
			return err
		}},
		{name: "watch", run: func(ctx context.Context) error {
			w, err := v2.Watch(ctx, metav1.ListOptions{ResourceVersion: "0"})
			if err != nil {
				return err
			}
			defer w.Stop()
			// The initial events of a and b need the webhook.
			for range w.ResultChan() {
			}
			return ctx.Err()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ctx context.Context
			var cancel context.CancelFunc
			if tc.deadline {
				ctx, cancel = context.WithTimeout(context.Background(), 2*time.Second)
			} else {
				ctx, cancel = context.WithCancel(context.Background())
			}
			defer cancel()
			conv.answerTo.Store(tc.answerTo)
			defer conv.answerTo.Store("")
			done := make(chan error, 1)
			go func() { done <- tc.run(ctx) }()
			select {
			case <-conv.started:
			case err := <-done:
				t.Fatalf("the request ended without calling the webhook: %v", err)
			case <-time.After(10 * time.Second):
				t.Fatal("the webhook was not called within 10s")
			}
			if !tc.deadline {
				cancel()
			}
			<-ctx.Done()
			gaveUp := time.Now()
			select {
			case <-conv.ended:
				t.Logf("the webhook call ended %v after the client gave up", time.Since(gaveUp).Round(time.Millisecond))
			case <-time.After(5 * time.Second):
				t.Fatal("the webhook call still runs 5s after the client gave up")
			}
			select {
			case err := <-done:
				if err == nil {
					t.Error("the request succeeded with a webhook that never answers")
				}
			case <-time.After(5 * time.Second):
				t.Error("the client's call did not return within 5s of giving up")
			}
		})
	}
}
