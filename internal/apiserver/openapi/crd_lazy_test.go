package openapi

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/types"
)

// backup is a second established CRD in CronTab's group, v1 only.
func backup(generation int64) *apiextensionsv1.CustomResourceDefinition {
	crd := crontab(generation, map[string]string{"target": "what to back up"})
	names := apiextensionsv1.CustomResourceDefinitionNames{Plural: "backups", Singular: "backup", Kind: "Backup", ListKind: "BackupList"}
	crd.Name, crd.UID = "backups.stable.example.com", types.UID("uid-backup")
	crd.Spec.Names, crd.Status.AcceptedNames = names, names
	crd.Spec.Versions = crd.Spec.Versions[:1]
	return crd
}

// TestCustomResourcesBuiltOnDemand: telling the documents of CRDs builds
// nothing; a read builds what it needs once; a change to one CRD's
// schema shows in /openapi/v2 and /openapi/v3 (new ETag, new hash) and
// rebuilds that CRD's parts only.
func TestCustomResourcesBuiltOnDemand(t *testing.T) {
	srv, d := testServer(t)
	base := srv.URL
	json := map[string]string{"Accept": "application/json"}

	// A burst of changes, as a chart installing CRDs makes, and no read.
	for gen := int64(1); gen <= 5; gen++ {
		d.SetCRDs([]*apiextensionsv1.CustomResourceDefinition{crontab(gen, map[string]string{"cronSpec": "when"}), backup(1)})
	}
	if got := d.crdBuilds(); got != (crdBuildStats{}) {
		t.Fatalf("built before any read: %+v", got)
	}

	read := func() (v2ETag, v1URL string, v1Doc []byte) {
		t.Helper()
		resp, _ := do(t, http.MethodGet, base+"/openapi/v2", json)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/openapi/v2: %s", resp.Status)
		}
		v1URL = v3Paths(t, base)["apis/stable.example.com/v1"]
		resp, v1Doc = do(t, http.MethodGet, base+v1URL, json)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s", v1URL, resp.Status)
		}
		return resp.Header.Get("Etag"), v1URL, v1Doc
	}
	etag1, url1, doc1 := read()
	built := d.crdBuilds()
	// Both CRDs' v2 parts, their v3 parts (CronTab v1 and v1beta1, Backup
	// v1), one v2 document, two group version documents.
	if want := (crdBuildStats{v2Parts: 2, v3Parts: 3, v2Docs: 1, v3Docs: 2}); built != want {
		t.Errorf("first read built %+v, want %+v", built, want)
	}
	if !strings.Contains(string(doc1), `"target":{"description":"what to back up"`) {
		t.Errorf("v3 stable.example.com/v1 does not describe Backup: %s", doc1)
	}
	if _, _, _ = read(); d.crdBuilds() != built {
		t.Errorf("reading again built %+v, had %+v", d.crdBuilds(), built)
	}

	// CronTab gains a field; Backup is unchanged.
	d.SetCRDs([]*apiextensionsv1.CustomResourceDefinition{crontab(6, map[string]string{"cronSpec": "when", "image": "what runs"}), backup(1)})
	_, url2, doc2 := read()
	after := d.crdBuilds()
	if want := (crdBuildStats{v2Parts: 3, v3Parts: 5, v2Docs: 2, v3Docs: 4}); after != want {
		t.Errorf("after CronTab changed: built %+v, want %+v (Backup's parts not rebuilt)", after, want)
	}
	if url2 == url1 {
		t.Errorf("v3 hash of stable.example.com/v1 unchanged: %s", url2)
	}
	for _, want := range []string{`"image":{"description":"what runs"`, `"target":{"description":"what to back up"`} {
		if !strings.Contains(string(doc2), want) {
			t.Errorf("v3 stable.example.com/v1 lacks %s", want)
		}
	}
	got, err := specFieldDescriptions(t, base)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(map[string]string{"cronSpec": "when", "image": "what runs"}) {
		t.Errorf("v2 CronTab spec fields %v", got)
	}
	resp, _ := do(t, http.MethodGet, base+"/openapi/v2", json)
	if resp.Header.Get("Etag") == etag1 {
		t.Errorf("v2 ETag unchanged after CronTab changed")
	}
	// The old hash is sent to the new document.
	resp, _ = do(t, http.MethodGet, base+url1, json)
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != url2 {
		t.Errorf("old hash: %s to %q, want 301 to %q", resp.Status, resp.Header.Get("Location"), url2)
	}
}

// TestCustomResourcesV3Alone: a group version's document is built on its
// own request, without building /openapi/v2 or other group versions.
func TestCustomResourcesV3Alone(t *testing.T) {
	srv, d := testServer(t)
	d.SetCRDs([]*apiextensionsv1.CustomResourceDefinition{crontab(1, map[string]string{"cronSpec": "when"})})
	resp, b := do(t, http.MethodGet, srv.URL+"/openapi/v3/apis/stable.example.com/v1beta1", map[string]string{"Accept": "application/json"})
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "CronTab") {
		t.Fatalf("v1beta1: %s %.200s", resp.Status, b)
	}
	if got, want := d.crdBuilds(), (crdBuildStats{v3Parts: 1, v3Docs: 1}); got != want {
		t.Errorf("built %+v, want %+v", got, want)
	}
	resp, _ = do(t, http.MethodGet, srv.URL+"/openapi/v3/apis/stable.example.com/v2", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unserved group version: %s, want 404", resp.Status)
	}
}

// BenchmarkCRDInstall is what installing 100 CRDs one by one (each
// change told, as the server tells them) and then one read of
// /openapi/v2 and of /openapi/v3 cost the documents.
func BenchmarkCRDInstall(b *testing.B) {
	d := New(testResources())
	if err := d.Build(); err != nil {
		b.Fatal(err)
	}
	crds := make([]*apiextensionsv1.CustomResourceDefinition, 100)
	for i := range crds {
		crd := backup(1)
		plural := fmt.Sprintf("backup%03ds", i)
		crd.Name, crd.UID = plural+".stable.example.com", types.UID("uid-"+plural)
		crd.Spec.Names.Plural, crd.Status.AcceptedNames.Plural = plural, plural
		crd.Spec.Names.Kind = fmt.Sprintf("Backup%03d", i)
		crd.Status.AcceptedNames.Kind = crd.Spec.Names.Kind
		crds[i] = crd
	}
	b.ReportAllocs()
	for b.Loop() {
		d.SetCRDs(nil)
		for i := range crds {
			d.SetCRDs(crds[:i+1])
		}
		for _, path := range []string{"/openapi/v2", "/openapi/v3"} {
			w := httptest.NewRecorder()
			d.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
			if w.Code != http.StatusOK {
				b.Fatalf("%s: %d", path, w.Code)
			}
		}
	}
}
