package apiserver_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// Fuzzing the request decoding paths. Every input must be answered
// without a 500 (a recovered panic or an internal error), every error
// must be a metav1.Status with the response's code, a request that failed
// must leave the store as it was, and the sentinel objects, which no
// request addresses, never change.
//
//	go test -run '^$' -fuzz FuzzDecodeCreateBody ./internal/apiserver/
//	go test -run '^$' -fuzz FuzzQueryParameters ./internal/apiserver/
//
// The seeds are in testdata/fuzz/<target>/ (regenerated with
// go test -run TestWriteFuzzSeeds -write-seeds); plain go test runs them.

// fuzzResource is a resource the fuzzers write to, in the fuzz namespace.
type fuzzResource struct {
	resource   string
	kind       string
	collection string
	// object returns a valid object named name, as JSON.
	object func(name string) string
}

func (r fuzzResource) item(name string) string { return r.collection + "/" + url.PathEscape(name) }

var fuzzResources = []fuzzResource{
	{"configmaps", "ConfigMap", "/api/v1/namespaces/" + fuzzNamespace + "/configmaps", func(name string) string {
		return fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q,"labels":{"fuzz":"yes"}},"data":{"k":"v"}}`, name)
	}},
	{"pods", "Pod", "/api/v1/namespaces/" + fuzzNamespace + "/pods", func(name string) string {
		return fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":%q,"labels":{"fuzz":"yes"}},"spec":{"containers":[{"name":"c","image":"busybox"}]}}`, name)
	}},
	{"deployments", "Deployment", "/apis/apps/v1/namespaces/" + fuzzNamespace + "/deployments", func(name string) string {
		return fmt.Sprintf(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":%q,"labels":{"fuzz":"yes"}},"spec":{"replicas":1,"selector":{"matchLabels":{"app":"fuzz"}},"template":{"metadata":{"labels":{"app":"fuzz"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}}`, name)
	}},
	{"services", "Service", "/api/v1/namespaces/" + fuzzNamespace + "/services", func(name string) string {
		return fmt.Sprintf(`{"apiVersion":"v1","kind":"Service","metadata":{"name":%q,"labels":{"fuzz":"yes"}},"spec":{"selector":{"app":"fuzz"},"ports":[{"port":80}]}}`, name)
	}},
	{"events", "Event", "/apis/events.k8s.io/v1/namespaces/" + fuzzNamespace + "/events", func(name string) string {
		return fmt.Sprintf(`{"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":%q,"labels":{"fuzz":"yes"}},"eventTime":"2025-01-01T00:00:00.000000Z","reportingController":"example.com/fuzz","reportingInstance":"fuzz-1","action":"Fuzz","reason":"Fuzzed","type":"Normal","note":"fuzz","regarding":{"kind":"Pod","namespace":%q,"name":"p"}}`, name, fuzzNamespace)
	}},
}

// pickResource finds a resource by name; any other string picks one by
// its bytes, so that every input addresses some resource.
func pickResource(name string) fuzzResource {
	sum := 0
	for _, r := range fuzzResources {
		if r.resource == name {
			return r
		}
	}
	for _, c := range []byte(name) {
		sum += int(c)
	}
	return fuzzResources[sum%len(fuzzResources)]
}

const sentinel = "sentinel"

// fuzzWorld is a fuzz server with a sentinel object of every fuzzed
// resource.
type fuzzWorld struct {
	*fuzzServer
	// sentinels are the sentinels' paths and resourceVersions.
	sentinels map[string]string
}

func startFuzzWorld(f *testing.F) *fuzzWorld {
	w := &fuzzWorld{fuzzServer: startFuzzServer(f), sentinels: map[string]string{}}
	for _, r := range fuzzResources {
		res := w.do(f, http.MethodPost, r.collection, acceptJSON, acceptJSON, []byte(r.object(sentinel)))
		if res.code != http.StatusCreated {
			f.Fatalf("create %s sentinel: %d %s", r.resource, res.code, res.body)
		}
		w.sentinels[r.item(sentinel)] = resourceVersionOf(f, res.body)
	}
	return w
}

// finish checks what every input must leave behind: the server idle and
// quiet, the sentinels as they were.
func (w *fuzzWorld) finish(t *testing.T) {
	t.Helper()
	w.settle(t)
	for path, rv := range w.sentinels {
		res := w.do(t, http.MethodGet, path, "", acceptJSON, nil)
		if res.code != http.StatusOK {
			t.Fatalf("sentinel %s: %d %s", path, res.code, res.body)
		}
		if got := resourceVersionOf(t, res.body); got != rv {
			t.Fatalf("sentinel %s changed: resourceVersion %s, was %s\n%s", path, got, rv, res.body)
		}
	}
}

// revision is the store's current revision (a consistent list's
// resourceVersion): it moves with every write.
func (w *fuzzWorld) revision(t *testing.T) string {
	t.Helper()
	res := w.do(t, http.MethodGet, fuzzResources[0].collection+"?limit=1", "", acceptJSON, nil)
	if res.code != http.StatusOK {
		t.Fatalf("read revision: %d %s", res.code, res.body)
	}
	return resourceVersionOf(t, res.body)
}

// unchanged fails the input when the store moved since rev.
func (w *fuzzWorld) unchanged(t *testing.T, what string, rev string, res response) {
	t.Helper()
	if now := w.revision(t); now != rev {
		t.Fatalf("%s answered %d but the store changed (revision %s, then %s): %s", what, res.code, rev, now, res.body)
	}
}

// readable checks that a stored object reads back in every form a client
// asks for: JSON, YAML, protobuf and kubectl's Table.
func (w *fuzzWorld) readable(t *testing.T, r fuzzResource, name string) {
	t.Helper()
	for _, accept := range []string{acceptJSON, "application/yaml", "application/vnd.kubernetes.protobuf", acceptTable} {
		res := w.do(t, http.MethodGet, r.item(name), "", accept, nil)
		checkAnswer(t, "GET "+accept, res)
		if res.code != http.StatusOK {
			t.Fatalf("GET %s as %s after a successful write: %d %s", r.item(name), accept, res.code, res.body)
		}
	}
	res := w.do(t, http.MethodGet, r.collection, "", acceptTable, nil)
	if res.code != http.StatusOK {
		t.Fatalf("list %s as Table: %d %s", r.resource, res.code, res.body)
	}
}

// remove deletes an object the input made, whatever finalizers it got.
func (w *fuzzWorld) remove(t *testing.T, r fuzzResource, name string) {
	t.Helper()
	if name == "" || name == sentinel {
		return
	}
	w.do(t, http.MethodPatch, r.item(name), "application/merge-patch+json", acceptJSON, []byte(`{"metadata":{"finalizers":null}}`))
	w.do(t, http.MethodDelete, r.item(name)+"?gracePeriodSeconds=0", "", acceptJSON, nil)
	if res := w.do(t, http.MethodGet, r.item(name), "", acceptJSON, nil); res.code != http.StatusNotFound {
		t.Errorf("cannot remove %s: still there (%d) after delete", r.item(name), res.code)
	}
}

// object makes a valid object named after the body's metadata.name when
// the body has a usable one, else "target"; it returns its name.
func (w *fuzzWorld) object(t *testing.T, r fuzzResource, body []byte) string {
	t.Helper()
	for _, name := range []string{nameInBody(body), "target"} {
		if name == "" || name == sentinel || len(validation.IsDNS1123Subdomain(name)) > 0 {
			continue
		}
		w.remove(t, r, name)
		res := w.do(t, http.MethodPost, r.collection, acceptJSON, acceptJSON, []byte(r.object(name)))
		if res.code == http.StatusCreated {
			return name
		}
		if name == "target" {
			t.Fatalf("create %s target: %d %s", r.resource, res.code, res.body)
		}
	}
	panic("unreachable")
}

// nameInBody is the metadata.name a body carries, in whatever format it
// is; "" when none can be read. It reads metadata alone: decoding the
// whole object may be what the input makes slow.
func nameInBody(body []byte) string {
	if bytes.HasPrefix(body, []byte("k8s\x00")) {
		var unknown runtime.Unknown
		var partial metav1.PartialObjectMetadata
		if unknown.Unmarshal(body[4:]) == nil && partial.Unmarshal(unknown.Raw) == nil {
			return partial.Name
		}
		return ""
	}
	var partial struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(body, &partial); err == nil {
		return partial.Metadata.Name
	}
	return ""
}

// resourceVersionOf reads metadata.resourceVersion from a JSON object.
func resourceVersionOf(t testing.TB, body []byte) string {
	t.Helper()
	var obj struct {
		Metadata struct {
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(body, &obj); err != nil || obj.Metadata.ResourceVersion == "" {
		t.Fatalf("no resourceVersion in %s (%v)", body, err)
	}
	return obj.Metadata.ResourceVersion
}

// checkObject fails the input when a successful write did not answer with
// an object of the resource's kind; it returns the object's name.
func checkObject(t *testing.T, what string, r fuzzResource, res response) string {
	t.Helper()
	var obj struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(res.body, &obj); err != nil || obj.Kind != r.kind || obj.Metadata.Name == "" {
		t.Fatalf("%s answered %d with %s (%v), want a %s", what, res.code, res.body, err, r.kind)
	}
	return obj.Metadata.Name
}

// patchTypes are the patch content types; apply needs a field manager.
var patchTypes = []struct{ contentType, query string }{
	{"application/json-patch+json", ""},
	{"application/merge-patch+json", ""},
	{"application/strategic-merge-patch+json", ""},
	{"application/apply-patch+yaml", "?fieldManager=fuzz"},
}

// FuzzDecodeCreateBody sends one body, in one content type, as a create,
// as an update of an existing object, and as every kind of patch of it.
func FuzzDecodeCreateBody(f *testing.F) {
	w := startFuzzWorld(f)
	// Bodies past the size limit are made here rather than checked in.
	big := strings.Repeat("x", 3*1024*1024)
	f.Add("configmaps", "application/json", []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"a":"`+big+`"}}`))
	f.Add("pods", "application/yaml", []byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: big\n  annotations:\n    a: "+big+"\n"))
	f.Fuzz(func(t *testing.T, resource, contentType string, body []byte) {
		if !validHeaderValue(contentType) {
			t.Skip("not a header value an HTTP client sends")
		}
		r := pickResource(resource)
		defer w.finish(t)

		rev := w.revision(t)
		res := w.do(t, http.MethodPost, r.collection, contentType, acceptJSON, body)
		checkAnswer(t, "POST", res)
		if res.ok() {
			name := checkObject(t, "POST", r, res)
			defer w.remove(t, r, name)
			w.readable(t, r, name)
			w.remove(t, r, name)
		} else {
			w.unchanged(t, "POST", rev, res)
		}

		name := w.object(t, r, body)
		defer w.remove(t, r, name)
		rev = w.revision(t)
		res = w.do(t, http.MethodPut, r.item(name), contentType, acceptJSON, body)
		checkAnswer(t, "PUT", res)
		if res.ok() {
			checkObject(t, "PUT", r, res)
			w.readable(t, r, name)
		} else {
			w.unchanged(t, "PUT", rev, res)
		}

		for _, p := range patchTypes {
			what := "PATCH " + p.contentType
			rev = w.revision(t)
			res = w.do(t, http.MethodPatch, r.item(name)+p.query, p.contentType, acceptJSON, body)
			checkAnswer(t, what, res)
			if res.ok() {
				checkObject(t, what, r, res)
				w.readable(t, r, name)
			} else {
				w.unchanged(t, what, rev, res)
			}
		}
	})
}

// validHeaderValue reports whether Go's HTTP client would send v as a
// header value (no control characters but tab).
func validHeaderValue(v string) bool {
	for _, c := range []byte(v) {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// queryVerbs are what FuzzQueryParameters does with the parameters.
var queryVerbs = []string{"list", "list-all", "watch", "watch-all", "get", "delete", "deletecollection", "create", "update", "patch"}

func pickVerb(v string) string {
	sum := 0
	for _, verb := range queryVerbs {
		if verb == v {
			return v
		}
	}
	for _, c := range []byte(v) {
		sum += int(c)
	}
	return queryVerbs[sum%len(queryVerbs)]
}

// FuzzQueryParameters sends the query parameters clients set (selectors,
// resourceVersion, paging, timeouts, field validation, dry run) with
// reads, watches and writes.
func FuzzQueryParameters(f *testing.F) {
	w := startFuzzWorld(f)
	f.Fuzz(func(t *testing.T, resource, verb, labelSelector, fieldSelector, resourceVersion, limit, continueToken, timeoutSeconds, fieldValidation, dryRun string) {
		r := pickResource(resource)
		defer w.finish(t)
		q := url.Values{}
		for k, v := range map[string]string{
			"labelSelector": labelSelector, "fieldSelector": fieldSelector, "resourceVersion": resourceVersion,
			"limit": limit, "continue": continueToken, "timeoutSeconds": timeoutSeconds,
			"fieldValidation": fieldValidation, "dryRun": dryRun,
		} {
			if v != "" {
				q.Set(k, v)
			}
		}
		dry := dryRun != ""
		allNamespaces := strings.Replace(r.collection, "/namespaces/"+fuzzNamespace, "", 1)
		v := pickVerb(verb)
		what := v + " " + r.resource + "?" + q.Encode()
		switch v {
		case "list", "list-all":
			path := r.collection
			if v == "list-all" {
				path = allNamespaces
			}
			res := w.do(t, http.MethodGet, path+"?"+q.Encode(), "", acceptJSON, nil)
			checkAnswer(t, what, res)
			if res.ok() {
				checkList(t, what, r, res)
			}
			// kubectl get lists as a Table (unless the list waited its 3s
			// for a revision that never came: once is enough per input).
			if res.code != http.StatusGatewayTimeout {
				checkAnswer(t, what+" (Table)", w.do(t, http.MethodGet, path+"?"+q.Encode(), "", acceptTable, nil))
			}
		case "watch", "watch-all":
			path := r.collection
			if v == "watch-all" {
				path = allNamespaces
			}
			q.Set("watch", "true")
			checkAnswer(t, what, w.watch(t, path+"?"+q.Encode()))
		case "get":
			res := w.do(t, http.MethodGet, r.item(sentinel)+"?"+q.Encode(), "", acceptJSON, nil)
			checkAnswer(t, what, res)
			if res.ok() {
				checkObject(t, what, r, res)
			}
		case "deletecollection":
			// Always a dry run: nothing may go, whatever the selectors.
			q.Add("dryRun", "All")
			rev := w.revision(t)
			res := w.do(t, http.MethodDelete, r.collection+"?"+q.Encode(), "", acceptJSON, nil)
			checkAnswer(t, what, res)
			w.unchanged(t, what, rev, res)
		case "create":
			rev := w.revision(t)
			res := w.do(t, http.MethodPost, r.collection+"?"+q.Encode(), acceptJSON, acceptJSON, []byte(r.object("created")))
			checkAnswer(t, what, res)
			if res.ok() {
				defer w.remove(t, r, checkObject(t, what, r, res))
			}
			if !res.ok() || dry {
				w.unchanged(t, what, rev, res)
			}
		case "delete", "update", "patch":
			name := w.object(t, r, nil)
			defer w.remove(t, r, name)
			rev := w.revision(t)
			var res response
			switch v {
			case "delete":
				res = w.do(t, http.MethodDelete, r.item(name)+"?"+q.Encode(), "", acceptJSON, nil)
			case "update":
				body := strings.Replace(r.object(name), `"fuzz":"yes"`, `"fuzz":"updated"`, 1)
				res = w.do(t, http.MethodPut, r.item(name)+"?"+q.Encode(), acceptJSON, acceptJSON, []byte(body))
			case "patch":
				res = w.do(t, http.MethodPatch, r.item(name)+"?"+q.Encode(), "application/merge-patch+json", acceptJSON, []byte(`{"metadata":{"labels":{"fuzz":"patched"}}}`))
			}
			checkAnswer(t, what, res)
			if !res.ok() || dry {
				w.unchanged(t, what, rev, res)
			}
			if res.ok() && v == "delete" && !dry {
				if got := w.do(t, http.MethodGet, r.item(name), "", acceptJSON, nil); got.code != http.StatusNotFound {
					t.Fatalf("%s answered %d but the object is still there (%d)", what, res.code, got.code)
				}
			}
		}
	})
}

// checkList fails the input when a successful list is not a list of the
// resource's kind.
func checkList(t *testing.T, what string, r fuzzResource, res response) {
	t.Helper()
	var list struct {
		Kind  string            `json:"kind"`
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(res.body, &list); err != nil || list.Kind != r.kind+"List" {
		t.Fatalf("%s answered %d with %.300s (%v), want a %sList", what, res.code, res.body, err, r.kind)
	}
}
