package registry_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestReferrers(t *testing.T) {
	r := startRegistry(t)
	c := r.client()
	tok, _ := r.token(t, c, "admin", r.password, "repository:a/app:pull,push,delete")
	base := "https://" + r.host + "/v2/a/app/"
	empty := []byte("{}")
	emptyDigest := digest.FromBytes(empty)
	resp := do(t, c, "POST", base+"blobs/uploads/", tok, nil)
	loc := resp.Request.URL.ResolveReference(must(url.Parse(resp.Header.Get("Location"))))
	q := loc.Query()
	q.Set("digest", emptyDigest.String())
	loc.RawQuery = q.Encode()
	if resp := do(t, c, "PUT", loc.String(), tok, empty, "Content-Type", "application/octet-stream"); resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %s", resp.Status)
	}
	manifest := func(artifactType string, subject *digest.Digest) []byte {
		m := map[string]any{
			"schemaVersion": 2, "mediaType": v1.MediaTypeImageManifest,
			"config": map[string]any{"mediaType": "application/vnd.oci.empty.v1+json", "digest": emptyDigest, "size": 2},
			"layers": []any{},
		}
		if artifactType != "" {
			m["artifactType"] = artifactType
		}
		if subject != nil {
			m["subject"] = map[string]any{"mediaType": v1.MediaTypeImageManifest, "digest": *subject, "size": 1}
		}
		b, _ := json.Marshal(m)
		return b
	}
	subjectBody := manifest("", nil)
	subject := digest.FromBytes(subjectBody)
	if resp := do(t, c, "PUT", base+"manifests/v1", tok, subjectBody, "Content-Type", v1.MediaTypeImageManifest); resp.StatusCode != http.StatusCreated {
		t.Fatalf("put subject: %s %s", resp.Status, readAll(t, resp))
	}
	sig := manifest("application/vnd.example.signature", &subject)
	sbom := manifest("application/vnd.example.sbom", &subject)
	for _, m := range [][]byte{sig, sbom} {
		d := digest.FromBytes(m)
		resp := do(t, c, "PUT", base+"manifests/"+d.String(), tok, m, "Content-Type", v1.MediaTypeImageManifest)
		if resp.StatusCode != http.StatusCreated || resp.Header.Get("OCI-Subject") != subject.String() {
			t.Fatalf("put referrer: %s, OCI-Subject %q", resp.Status, resp.Header.Get("OCI-Subject"))
		}
	}
	list := func(query string) (v1.Index, http.Header) {
		resp := do(t, c, "GET", base+"referrers/"+subject.String()+query, tok, nil)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != v1.MediaTypeImageIndex {
			t.Fatalf("referrers: %s %s", resp.Status, resp.Header.Get("Content-Type"))
		}
		var idx v1.Index
		if err := json.NewDecoder(resp.Body).Decode(&idx); err != nil {
			t.Fatal(err)
		}
		return idx, resp.Header
	}
	artifactTypes := func(idx v1.Index) string {
		var out []string
		for _, m := range idx.Manifests {
			out = append(out, m.ArtifactType)
		}
		return strings.Join(out, ",")
	}
	tests := []struct {
		name, query, want, filters string
		deleteFirst                []byte
	}{
		{name: "all", want: "application/vnd.example.sbom,application/vnd.example.signature"},
		{name: "filtered", query: "?artifactType=application/vnd.example.sbom", want: "application/vnd.example.sbom", filters: "artifactType"},
		{name: "after delete", deleteFirst: sig, want: "application/vnd.example.sbom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.deleteFirst != nil {
				if resp := do(t, c, "DELETE", base+"manifests/"+digest.FromBytes(tt.deleteFirst).String(), tok, nil); resp.StatusCode != http.StatusAccepted {
					t.Fatalf("delete: %s", resp.Status)
				}
			}
			idx, hdr := list(tt.query)
			// Sorted by digest: compare as sets.
			got := strings.Split(artifactTypes(idx), ",")
			if len(got) != len(strings.Split(tt.want, ",")) || !containsAll(tt.want, got) {
				t.Errorf("referrers = %v, want %s", got, tt.want)
			}
			if f := hdr.Get("OCI-Filters-Applied"); f != tt.filters {
				t.Errorf("OCI-Filters-Applied = %q, want %q", f, tt.filters)
			}
		})
	}
	if resp := do(t, c, "GET", base+"referrers/"+subject.String(), "", nil); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `service="kemudi-registry"`) {
		t.Errorf("anonymous referrers: %s %q, want 401 with a Bearer challenge", resp.Status, resp.Header.Get("WWW-Authenticate"))
	}
}

func containsAll(want string, got []string) bool {
	for _, g := range got {
		if !strings.Contains(want, g) || g == "" {
			return false
		}
	}
	return true
}
