package openapi

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kemudi/kemudi/internal/registry"
)

// do sends a request the way the test says, without the transport's own
// gzip handling, and returns the response and its (raw) body.
func do(t *testing.T, method, url string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{
		Transport:     &http.Transport{DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestV2ContentNegotiationAndCaching(t *testing.T) {
	srv, _ := testServer(t)
	url := srv.URL + "/openapi/v2"

	resp, plain := do(t, http.MethodGet, url, map[string]string{"Accept": "application/json"})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("JSON: %s, %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	if !json.Valid(plain) || resp.Header.Get("Content-Encoding") != "" {
		t.Fatalf("JSON without gzip: valid %v, encoding %q", json.Valid(plain), resp.Header.Get("Content-Encoding"))
	}
	etag := resp.Header.Get("Etag")
	if len(etag) != 130 || etag[0] != '"' {
		t.Errorf("ETag %q, want a quoted SHA-512", etag)
	}
	if v := resp.Header.Values("Vary"); !strings.Contains(strings.Join(v, ","), "Accept") {
		t.Errorf("Vary %v", v)
	}

	resp, gz := do(t, http.MethodGet, url, map[string]string{"Accept": "application/json", "Accept-Encoding": "gzip"})
	if resp.Header.Get("Content-Encoding") != "gzip" || !bytes.Equal(gunzip(t, gz), plain) {
		t.Errorf("gzip: encoding %q, %d compressed bytes", resp.Header.Get("Content-Encoding"), len(gz))
	}
	if len(gz)*5 > len(plain) {
		t.Errorf("gzip: %d bytes for %d", len(gz), len(plain))
	}

	resp, _ = do(t, http.MethodGet, url, map[string]string{"Accept": "application/json", "If-None-Match": etag})
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match the ETag: %s, want 304", resp.Status)
	}
	resp, _ = do(t, http.MethodGet, url, map[string]string{"Accept": "application/json", "If-None-Match": `"stale"`})
	if resp.StatusCode != http.StatusOK {
		t.Errorf("If-None-Match a stale ETag: %s, want 200", resp.Status)
	}

	// kubectl asks for protobuf under the deprecated name.
	resp, pb := do(t, http.MethodGet, url, map[string]string{
		"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf, application/json",
	})
	if resp.Header.Get("Content-Type") != "application/com.github.proto-openapi.spec.v2.v1.0+protobuf" || len(pb) == 0 || pb[0] == '{' {
		t.Errorf("protobuf: %q, %d bytes", resp.Header.Get("Content-Type"), len(pb))
	}
	if resp.Header.Get("Etag") != etag {
		t.Errorf("protobuf ETag %q, want the JSON one", resp.Header.Get("Etag"))
	}

	resp, _ = do(t, http.MethodGet, url, map[string]string{"Accept": "text/html"})
	if resp.StatusCode != http.StatusNotAcceptable {
		t.Errorf("Accept text/html: %s, want 406", resp.Status)
	}
	resp, _ = do(t, http.MethodPost, url, nil)
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %s, want 405", resp.Status)
	}
	resp, body := do(t, http.MethodHead, url, nil)
	if resp.StatusCode != http.StatusOK || len(body) != 0 {
		t.Errorf("HEAD: %s, %d bytes", resp.Status, len(body))
	}
}

func TestV3DiscoveryAndHashes(t *testing.T) {
	srv, _ := testServer(t)
	resp, b := do(t, http.MethodGet, srv.URL+"/openapi/v3", nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("discovery: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	var disc v3Discovery
	if err := json.Unmarshal(b, &disc); err != nil {
		t.Fatal(err)
	}
	u := disc.Paths["apis/apps/v1"].ServerRelativeURL
	if !strings.HasPrefix(u, "/openapi/v3/apis/apps/v1?hash=") {
		t.Fatalf("apps/v1 URL %q", u)
	}

	resp, doc := do(t, http.MethodGet, srv.URL+u, nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "public, immutable" || resp.Header.Get("Expires") == "" {
		t.Errorf("hashed URL: %s, Cache-Control %q, Expires %q", resp.Status, resp.Header.Get("Cache-Control"), resp.Header.Get("Expires"))
	}
	if got := `"` + strings.TrimPrefix(u, "/openapi/v3/apis/apps/v1?hash=") + `"`; resp.Header.Get("Etag") != got {
		t.Errorf("ETag %q, want the hash %q", resp.Header.Get("Etag"), got)
	}
	var d map[string]interface{}
	if err := json.Unmarshal(doc, &d); err != nil || d["openapi"] != "3.0.0" {
		t.Errorf("apps/v1 document: %v, openapi %v", err, d["openapi"])
	}

	// Without a hash: no immutable caching.
	resp, _ = do(t, http.MethodGet, srv.URL+"/openapi/v3/apis/apps/v1", nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "" {
		t.Errorf("no hash: %s, Cache-Control %q", resp.Status, resp.Header.Get("Cache-Control"))
	}
	// A stale hash is redirected to the current one.
	resp, _ = do(t, http.MethodGet, srv.URL+"/openapi/v3/apis/apps/v1?hash=0123", nil)
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != u {
		t.Errorf("stale hash: %s to %q, want 301 to %q", resp.Status, resp.Header.Get("Location"), u)
	}
	// Protobuf, under both names.
	for _, accept := range []string{"application/com.github.proto-openapi.spec.v3@v1.0+protobuf", "application/com.github.proto-openapi.spec.v3.v1.0+protobuf"} {
		resp, pb := do(t, http.MethodGet, srv.URL+"/openapi/v3/apis/apps/v1", map[string]string{"Accept": accept})
		if resp.Header.Get("Content-Type") != "application/com.github.proto-openapi.spec.v3.v1.0+protobuf" || len(pb) == 0 || pb[0] == '{' {
			t.Errorf("Accept %s: %q, %d bytes", accept, resp.Header.Get("Content-Type"), len(pb))
		}
	}
	resp, _ = do(t, http.MethodGet, srv.URL+"/openapi/v3/apis/nosuch.example.com/v1", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown group version: %s, want 404", resp.Status)
	}
}

// Every served resource has its kind's definition, the status and scale
// subresources their paths, and create, update and patch take
// fieldManager and fieldValidation.
func TestEveryResourceIsDescribed(t *testing.T) {
	srv, d := testServer(t)
	doc := getJSON(t, srv.URL+"/openapi/v2")
	defs := doc["definitions"].(obj)
	for _, r := range d.resources {
		gvk := r.GroupVersion.WithKind(r.Kind)
		found := false
		for _, def := range defs {
			kinds, _ := def.(obj)[extensionGVK].([]interface{})
			for _, k := range kinds {
				k := k.(obj)
				found = found || (k["group"] == gvk.Group && k["version"] == gvk.Version && k["kind"] == gvk.Kind)
			}
		}
		if !found {
			t.Errorf("%s: no definition", gvk)
		}
		paths := map[string]bool{}
		for _, p := range resourcePaths(doc, r) {
			paths[p] = true
			for method, op := range operations(doc, p) {
				if method != "post" && method != "put" && method != "patch" {
					continue
				}
				names := map[string]bool{}
				for _, p := range op["parameters"].([]interface{}) {
					names[p.(obj)["name"].(string)] = true
				}
				for _, n := range []string{"fieldManager", "fieldValidation", "dryRun", "pretty"} {
					if !names[n] {
						t.Errorf("%s %s has no %s parameter", method, p, n)
					}
				}
			}
		}
		for sub := range served(r) {
			if sub == "" {
				continue
			}
			item := rootPath(r.GroupVersion) + "/" + r.Resource + "/{name}/" + sub
			if r.Namespaced {
				item = rootPath(r.GroupVersion) + "/namespaces/{namespace}/" + r.Resource + "/{name}/" + sub
			}
			if !paths[item] {
				t.Errorf("%s: no %s", gvk, item)
			}
		}
	}
}

// The extensions clients act on: kinds on definitions and operations,
// merge strategies and list types on fields.
func TestExtensions(t *testing.T) {
	srv, _ := testServer(t)
	v2 := getJSON(t, srv.URL+"/openapi/v2")
	disc := getJSON(t, srv.URL+"/openapi/v3")["paths"].(obj)
	v3 := getJSON(t, srv.URL+disc["api/v1"].(obj)["serverRelativeURL"].(string))
	for name, defs := range map[string]obj{
		"v2": v2["definitions"].(obj),
		"v3": v3["components"].(obj)["schemas"].(obj),
	} {
		pod := defs["io.k8s.api.core.v1.Pod"].(obj)
		if got := mustJSON(pod[extensionGVK]); got != mustJSON([]obj{{"group": "", "version": "v1", "kind": "Pod"}}) {
			t.Errorf("%s: Pod kinds %s", name, got)
		}
		containers := defs["io.k8s.api.core.v1.PodSpec"].(obj)["properties"].(obj)["containers"].(obj)
		for k, want := range map[string]interface{}{
			"x-kubernetes-patch-strategy":  "merge",
			"x-kubernetes-patch-merge-key": "name",
			"x-kubernetes-list-type":       "map",
			"x-kubernetes-list-map-keys":   []interface{}{"name"},
		} {
			if !reflect.DeepEqual(containers[k], want) {
				t.Errorf("%s: PodSpec.containers %s = %v, want %v", name, k, containers[k], want)
			}
		}
	}
	patch := v3["paths"].(obj)["/api/v1/namespaces/{namespace}/pods/{name}"].(obj)["patch"].(obj)
	if patch[extensionAction] != "patch" || mustJSON(patch[extensionGVK]) != mustJSON(obj{"group": "", "version": "v1", "kind": "Pod"}) {
		t.Errorf("pod PATCH: action %v, kind %v", patch[extensionAction], patch[extensionGVK])
	}
	types := []string{}
	for ct := range patch["requestBody"].(obj)["content"].(obj) {
		types = append(types, ct)
	}
	sort.Strings(types)
	want := []string{"application/apply-patch+cbor", "application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json"}
	if !reflect.DeepEqual(types, want) {
		t.Errorf("pod PATCH takes %v, want %v", types, want)
	}
}

// Requests that arrive while the documents are being built wait for the
// one build and get the same bytes.
func TestConcurrentFirstRequests(t *testing.T) {
	srv, _ := testServer(t)
	urls := []string{"/openapi/v2", "/openapi/v3", "/openapi/v3/api/v1"}
	const n = 4
	bodies := make([][][]byte, len(urls))
	var wg sync.WaitGroup
	for i, u := range urls {
		bodies[i] = make([][]byte, n)
		for j := 0; j < n; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := http.Get(srv.URL + u)
				if err != nil {
					t.Error(err)
					return
				}
				defer resp.Body.Close()
				bodies[i][j], _ = io.ReadAll(resp.Body)
			}()
		}
	}
	wg.Wait()
	for i, u := range urls {
		for j := 1; j < n; j++ {
			if len(bodies[i][0]) == 0 || !bytes.Equal(bodies[i][0], bodies[i][j]) {
				t.Errorf("%s: answers differ (%d and %d bytes)", u, len(bodies[i][0]), len(bodies[i][j]))
			}
		}
	}
}

// widget is a kind the generated definitions do not know.
type widget struct {
	metav1.TypeMeta
	metav1.ObjectMeta
}

func (w *widget) DeepCopyObject() runtime.Object { c := *w; return &c }

// A resource whose type has no generated definition makes the documents
// unavailable (503) rather than wrong; the error names the type.
func TestUnknownTypeIsUnavailable(t *testing.T) {
	d := New([]*registry.Resource{{
		GroupVersion: schema.GroupVersion{Group: "example.com", Version: "v1"}, Resource: "widgets", Kind: "Widget",
		New:     func() runtime.Object { return &widget{} },
		NewList: func() runtime.Object { return &widget{} },
	}})
	var logs bytes.Buffer
	d.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	if err := d.Build(); err == nil || !strings.Contains(err.Error(), "widget") {
		t.Errorf("Build: %v, want an error naming the type", err)
	}
	srv := httptest.NewServer(d.Handler())
	defer srv.Close()
	for _, u := range []string{"/openapi/v2", "/openapi/v3"} {
		resp, _ := do(t, http.MethodGet, srv.URL+u, nil)
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s: %s, want 503", u, resp.Status)
		}
	}
	// Logged once per document, not per request.
	if n := strings.Count(logs.String(), "openapi.widget"); n != 2 {
		t.Errorf("%d log lines about the type, want 2 (v2, v3):\n%s", n, logs.String())
	}
}
