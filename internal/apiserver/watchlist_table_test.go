package apiserver_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// A watch that streams a list (sendInitialEvents) in Table form: every
// object a Table of one row, the column definitions in the first only,
// and the bookmark that ends the initial events a Table too, whose row's
// object carries the initial-events-end annotation (upstream's
// "server supports sending resources in Table format"), so that a
// client's reflector, which cannot use Tables, never takes it as synced.
func TestWatchListAsTable(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	ns := "watchlist"
	if _, err := s.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("secret-%d", i), Labels: map[string]string{"watchlist": "true"}}}
		if _, err := s.Client.CoreV1().Secrets(ns).Create(ctx, sec, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	hc, err := rest.HTTPClientFor(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, accept, query string
		wantBookmarkKind    string
	}{
		{name: "table", accept: "application/json;as=Table;v=v1;g=meta.k8s.io", wantBookmarkKind: "Table"},
		{name: "table without objects", accept: "application/json;as=Table;v=v1;g=meta.k8s.io", query: "&includeObject=None", wantBookmarkKind: "Table"},
		{name: "objects", accept: "application/json", wantBookmarkKind: "Secret"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			url := s.Config.Host + "/api/v1/namespaces/" + ns + "/secrets?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&labelSelector=watchlist%3Dtrue" + tc.query
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			req.Header.Set("Accept", tc.accept)
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(nil, 1<<20)
			for i := 0; sc.Scan(); i++ {
				var ev struct {
					Type   string
					Object struct {
						Kind              string
						ColumnDefinitions []json.RawMessage
						Rows              []struct{ Object json.RawMessage }
						Metadata          metav1.ObjectMeta
					}
				}
				if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
					t.Fatalf("event %d: %v: %s", i, err, sc.Bytes())
				}
				if i < 2 {
					if ev.Type != "ADDED" {
						t.Fatalf("event %d is %s, want ADDED: %s", i, ev.Type, sc.Bytes())
					}
					if tc.wantBookmarkKind == "Table" && (len(ev.Object.Rows) != 1 || (len(ev.Object.ColumnDefinitions) > 0) != (i == 0)) {
						t.Errorf("event %d: %d rows, %d column definitions; want 1 row, columns in the first event only", i, len(ev.Object.Rows), len(ev.Object.ColumnDefinitions))
					}
					continue
				}
				if ev.Type != "BOOKMARK" || ev.Object.Kind != tc.wantBookmarkKind {
					t.Fatalf("event %d: %s of a %s, want BOOKMARK of a %s: %s", i, ev.Type, ev.Object.Kind, tc.wantBookmarkKind, sc.Bytes())
				}
				md := ev.Object.Metadata
				if tc.wantBookmarkKind == "Table" {
					if len(ev.Object.Rows) != 1 {
						t.Fatalf("bookmark Table has %d rows, want 1: %s", len(ev.Object.Rows), sc.Bytes())
					}
					var partial metav1.PartialObjectMetadata
					if err := json.Unmarshal(ev.Object.Rows[0].Object, &partial); err != nil || partial.Kind != "PartialObjectMetadata" {
						t.Fatalf("bookmark row's object %s: %v", ev.Object.Rows[0].Object, err)
					}
					md = partial.ObjectMeta
				}
				if md.Annotations[metav1.InitialEventsAnnotationKey] != "true" || md.ResourceVersion == "" {
					t.Errorf("bookmark metadata %+v lacks the initial-events-end annotation or a resource version", md)
				}
				return
			}
			t.Fatalf("watch ended before the bookmark: %v", sc.Err())
		})
	}
}
