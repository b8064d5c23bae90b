package registry_test

import (
	"crypto/sha512"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
)

// A digest of an algorithm the OCI image spec does not register (sha384,
// which go-digest parses) is refused with 400 DIGEST_INVALID wherever a
// request names one; sha256 and sha512 ones and tags pass through.
func TestUnsupportedDigest(t *testing.T) {
	r := startRegistry(t)
	c := r.client()
	tok, _ := r.token(t, c, "admin", r.password, "repository:s/blobs/p:push,pull")
	base := "https://" + r.host + "/v2/s/blobs/p"
	sum := sha512.Sum384([]byte("hello"))
	d384 := "sha384:" + hex.EncodeToString(sum[:])
	manifest := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + d384 + `","size":5},"layers":[]}`)
	for _, tc := range []struct {
		method, path string
		body         []byte
		status       int
	}{
		{"POST", "/blobs/uploads/?digest=" + d384, []byte("hello"), http.StatusBadRequest},
		{"POST", "/blobs/uploads/?mount=" + d384 + "&from=s/q", nil, http.StatusBadRequest},
		{"GET", "/blobs/" + d384, nil, http.StatusBadRequest},
		{"HEAD", "/blobs/" + d384, nil, http.StatusBadRequest},
		{"GET", "/manifests/" + d384, nil, http.StatusBadRequest},
		{"PUT", "/manifests/" + d384, manifest, http.StatusBadRequest},
		// What the repository's "/blobs/" and known algorithms name is served.
		{"GET", "/manifests/1", nil, http.StatusNotFound},
		{"GET", "/manifests/sha512:" + strings.Repeat("ab", 64), nil, http.StatusNotFound},
		{"GET", "/blobs/sha256:" + strings.Repeat("ab", 32), nil, http.StatusNotFound},
	} {
		resp := do(t, c, tc.method, base+tc.path, tok, tc.body, "Content-Type", "application/vnd.oci.image.manifest.v1+json")
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: %d %s, want %d", tc.method, tc.path, resp.StatusCode, body, tc.status)
			continue
		}
		if tc.status == http.StatusBadRequest && tc.method != "HEAD" && !strings.Contains(string(body), `"DIGEST_INVALID"`) {
			t.Errorf("%s %s: %s, want DIGEST_INVALID", tc.method, tc.path, body)
		}
	}
}
