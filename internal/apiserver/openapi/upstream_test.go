package openapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/kemudi/kemudi/internal/registry"
)

// The documents upstream publishes for the release whose k8s.io/api we
// build with (kubernetes/api/openapi-spec) are the reference: for every
// resource served, its paths, operations, parameters and definitions must
// be upstream's.

const upstreamRelease = "v1.37.2" // matches k8s.io/api v0.37.2

func upstreamSpecDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Skipf("go env GOMODCACHE: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "k8s.io", "kubernetes@"+upstreamRelease, "api", "openapi-spec")
	if _, err := os.Stat(filepath.Join(dir, "swagger.json")); err != nil {
		t.Skipf("upstream's published OpenAPI documents are not in the module cache (%v); "+
			"`go mod download k8s.io/kubernetes@%s` brings them", err, upstreamRelease)
	}
	return dir
}

type obj = map[string]interface{}

func loadJSON(t *testing.T, file string) obj {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var o obj
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return o
}

func getJSON(t *testing.T, url string) obj {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, b)
	}
	var o obj
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return o
}

// subresourceOf returns the subresource a path of the group version
// served at root addresses for resource r ("" for the resource itself),
// or false when the path is not r's.
func subresourceOf(path, root string, r *registry.Resource) (string, bool) {
	rest, ok := strings.CutPrefix(path, root+"/")
	if !ok {
		return "", false
	}
	rest = strings.TrimPrefix(rest, "watch/")
	rest = strings.TrimPrefix(rest, "namespaces/{namespace}/")
	seg := strings.Split(rest, "/")
	if seg[0] != r.Resource {
		return "", false
	}
	switch {
	case len(seg) == 1:
		return "", true
	case seg[1] != "{name}" || len(seg) > 3:
		return "", false
	case len(seg) == 2:
		return "", true
	}
	return seg[2], true
}

// served is the set of subresources the tests serve for r.
func served(r *registry.Resource) map[string]bool {
	s := map[string]bool{"": true}
	if r.HasStatus {
		s["status"] = true
	}
	if r.Scale != nil {
		s["scale"] = true
	}
	for name := range r.Actions {
		s[name] = true
	}
	return s
}

// resourcePaths returns the paths of doc that are r's served endpoints.
func resourcePaths(doc obj, r *registry.Resource) []string {
	root := rootPath(r.GroupVersion)
	subs := served(r)
	var out []string
	for p := range doc["paths"].(obj) {
		if sub, ok := subresourceOf(p, root, r); ok && subs[sub] {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// resolve replaces the #/parameters/ references of a v2 parameter list.
func resolve(doc obj, params interface{}) []interface{} {
	list, _ := params.([]interface{})
	out := make([]interface{}, 0, len(list))
	for _, p := range list {
		m := p.(obj)
		if ref, ok := m["$ref"].(string); ok {
			m = doc["parameters"].(obj)[strings.TrimPrefix(ref, "#/parameters/")].(obj)
		}
		out = append(out, m)
	}
	return out
}

// operations returns each operation of a path with its path-level
// parameters merged in, sorted, so that documents that factor parameters
// differently compare equal.
func operations(doc obj, path string) map[string]obj {
	item := doc["paths"].(obj)[path].(obj)
	common := resolve(doc, item["parameters"])
	ops := map[string]obj{}
	for method, op := range item {
		if method == "parameters" {
			continue
		}
		o := obj{}
		for k, v := range op.(obj) {
			o[k] = v
		}
		params := append(append([]interface{}{}, common...), resolve(doc, o["parameters"])...)
		sort.Slice(params, func(i, j int) bool {
			a, b := params[i].(obj), params[j].(obj)
			return fmt.Sprint(a["name"], a["in"]) < fmt.Sprint(b["name"], b["in"])
		})
		o["parameters"] = params
		ops[method] = o
	}
	return ops
}

// diff lists where two JSON values differ, one line per difference.
func diff(got, want interface{}, at string) []string {
	switch w := want.(type) {
	case obj:
		g, ok := got.(obj)
		if !ok {
			break
		}
		var out []string
		for k := range w {
			out = append(out, diff(g[k], w[k], at+"."+k)...)
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				out = append(out, fmt.Sprintf("%s.%s: got %s, upstream has none", at, k, mustJSON(g[k])))
			}
		}
		sort.Strings(out)
		return out
	case []interface{}:
		g, ok := got.([]interface{})
		if !ok || len(g) != len(w) {
			break
		}
		var out []string
		for i := range w {
			out = append(out, diff(g[i], w[i], fmt.Sprintf("%s[%d]", at, i))...)
		}
		return out
	}
	if reflect.DeepEqual(got, want) {
		return nil
	}
	return []string{fmt.Sprintf("%s: got %s, want %s", at, mustJSON(got), mustJSON(want))}
}

func mustJSON(v interface{}) string {
	b, _ := json.MarshalIndent(v, "", " ")
	return string(b)
}

// comparePaths checks that ours serves exactly upstream's endpoints for
// every resource, with upstream's operations.
func comparePaths(t *testing.T, ours, upstream obj, resources []*registry.Resource) {
	t.Helper()
	for _, r := range resources {
		gvr := r.GroupVersion.WithResource(r.Resource).String()
		got, want := resourcePaths(ours, r), resourcePaths(upstream, r)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: paths\n got %q\nwant %q", gvr, got, want)
			continue
		}
		for _, p := range got {
			g, w := operations(ours, p), operations(upstream, p)
			for method := range w {
				if !reflect.DeepEqual(g[method], w[method]) {
					t.Errorf("%s %s %s:\n%s", gvr, method, p, strings.Join(diff(g[method], w[method], ""), "\n"))
				}
			}
			for method := range g {
				if w[method] == nil {
					t.Errorf("%s %s %s: upstream has no such operation", gvr, method, p)
				}
			}
		}
	}
}

// pruneEnums removes the enums of string fields and their description,
// which upstream's published documents leave out: they are generated with
// the OpenAPIEnums feature off, which a cluster has on by default.
func pruneEnums(v interface{}) {
	switch v := v.(type) {
	case obj:
		if _, ok := v["enum"].([]interface{}); ok && v["type"] == "string" {
			delete(v, "enum")
			if d, ok := v["description"].(string); ok {
				// A blank comment line before the enum's list leaves a
				// newline of its own (admissionregistration's scope).
				d, _, _ = strings.Cut(d, "\n\nPossible enum values:")
				v["description"] = strings.TrimSuffix(d, "\n")
			}
		}
		for _, x := range v {
			pruneEnums(x)
		}
	case []interface{}:
		for _, x := range v {
			pruneEnums(x)
		}
	}
}

// compareSchemas checks every definition of ours against upstream's: the
// same schema, and kinds that upstream also lists. Upstream serves more
// group versions, so its lists of kinds may be longer (DeleteOptions).
func compareSchemas(t *testing.T, ours, upstream obj, what string) {
	t.Helper()
	if len(ours) == 0 {
		t.Errorf("%s: no definitions", what)
	}
	for name, def := range ours {
		up, ok := upstream[name]
		if !ok {
			t.Errorf("%s: %s is not upstream's", what, name)
			continue
		}
		g, w := obj{}, obj{}
		for k, v := range def.(obj) {
			g[k] = v
		}
		for k, v := range up.(obj) {
			w[k] = v
		}
		gk, _ := g[extensionGVK].([]interface{})
		wk, _ := w[extensionGVK].([]interface{})
		delete(g, extensionGVK)
		delete(w, extensionGVK)
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s: %s:\n%s", what, name, strings.Join(diff(g, w, ""), "\n"))
		}
		if (len(gk) == 0) != (len(wk) == 0) {
			t.Errorf("%s: %s: kinds %v, upstream %v", what, name, gk, wk)
		}
		for _, k := range gk {
			found := false
			for _, u := range wk {
				found = found || reflect.DeepEqual(k, u)
			}
			if !found {
				t.Errorf("%s: %s: kind %v is not upstream's %v", what, name, k, wk)
			}
		}
	}
}

func TestV2MatchesUpstream(t *testing.T) {
	dir := upstreamSpecDir(t)
	srv, d := testServer(t)
	ours := getJSON(t, srv.URL+"/openapi/v2")
	pruneEnums(ours)
	upstream := loadJSON(t, filepath.Join(dir, "swagger.json"))

	for _, k := range []string{"swagger", "info", "security", "securityDefinitions"} {
		if !reflect.DeepEqual(ours[k], upstream[k]) {
			t.Errorf("%s: got %v, want %v", k, ours[k], upstream[k])
		}
	}
	comparePaths(t, ours, upstream, d.resources)
	for _, p := range []string{"/api/", "/api/v1/", "/apis/", "/apis/apps/", "/apis/apps/v1/", "/version/"} {
		if !reflect.DeepEqual(operations(ours, p), operations(upstream, p)) {
			t.Errorf("%s:\n%s", p, strings.Join(diff(operations(ours, p), operations(upstream, p), ""), "\n"))
		}
	}
	compareSchemas(t, ours["definitions"].(obj), upstream["definitions"].(obj), "v2")
	for name, p := range ours["parameters"].(obj) {
		if !reflect.DeepEqual(p, upstream["parameters"].(obj)[name]) {
			t.Errorf("shared parameter %s: got %s, upstream %s", name, mustJSON(p), mustJSON(upstream["parameters"].(obj)[name]))
		}
	}
}

func TestV3MatchesUpstream(t *testing.T) {
	dir := upstreamSpecDir(t)
	srv, d := testServer(t)
	disc := getJSON(t, srv.URL+"/openapi/v3")["paths"].(obj)
	byGV := map[string][]*registry.Resource{}
	for _, r := range d.resources {
		name := strings.TrimPrefix(rootPath(r.GroupVersion), "/")
		byGV[name] = append(byGV[name], r)
	}
	names := []string{"api", "apis", "apis/apps", "version"}
	for name := range byGV {
		names = append(names, name)
	}
	for _, name := range names {
		entry, ok := disc[name].(obj)
		if !ok {
			t.Errorf("discovery has no %s: %v", name, disc)
			continue
		}
		ours := getJSON(t, srv.URL+entry["serverRelativeURL"].(string))
		pruneEnums(ours)
		upstream := loadJSON(t, filepath.Join(dir, "v3", strings.ReplaceAll(name, "/", "__")+"_openapi.json"))
		for _, k := range []string{"openapi", "info"} {
			if !reflect.DeepEqual(ours[k], upstream[k]) {
				t.Errorf("%s: %s: got %v, want %v", name, k, ours[k], upstream[k])
			}
		}
		if !reflect.DeepEqual(ours["components"].(obj)["securitySchemes"], upstream["components"].(obj)["securitySchemes"]) {
			t.Errorf("%s: securitySchemes: got %v", name, ours["components"].(obj)["securitySchemes"])
		}
		comparePaths(t, ours, upstream, byGV[name])
		for _, p := range []string{"/" + name + "/"} {
			if !reflect.DeepEqual(operations(ours, p), operations(upstream, p)) {
				t.Errorf("%s:\n%s", p, strings.Join(diff(operations(ours, p), operations(upstream, p), ""), "\n"))
			}
		}
		compareSchemas(t, ours["components"].(obj)["schemas"].(obj), upstream["components"].(obj)["schemas"].(obj), name)
	}
}
