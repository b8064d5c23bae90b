package registry_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/opencontainers/go-digest"
)

// TestSHA512Content: content pushed by sha512 digests is answered with
// them, a manifest naming its blobs by sha512 digests is pulled by its
// own sha512 digest, and garbage collection keeps the blobs such a
// manifest references (distribution stores them under sha256 digests).
func TestSHA512Content(t *testing.T) {
	r := startRegistry(t)
	c := r.client()
	tok, _ := r.token(t, c, "admin", r.password, "repository:s/five12:push,pull")
	base := "https://" + r.host + "/v2/s/five12"
	push := func(body []byte) digest.Digest {
		d := digest.SHA512.FromBytes(body)
		resp := do(t, c, "POST", base+"/blobs/uploads/", tok, nil)
		loc, err := resp.Location()
		if resp.StatusCode != http.StatusAccepted || err != nil {
			t.Fatalf("start upload: %s %v", resp.Status, err)
		}
		q := loc.Query()
		q.Set("digest", d.String())
		loc.RawQuery = q.Encode()
		resp = do(t, c, "PUT", loc.String(), tok, body, "Content-Type", "application/octet-stream")
		if resp.StatusCode != http.StatusCreated || resp.Header.Get("Docker-Content-Digest") != d.String() {
			t.Fatalf("push blob %s: %s, Docker-Content-Digest %q", d, resp.Status, resp.Header.Get("Docker-Content-Digest"))
		}
		return d
	}
	layer, config := []byte("a layer's bytes"), []byte(`{"architecture":"amd64","os":"linux"}`)
	ld, cd := push(layer), push(config)
	man, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": len(config)},
		"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ld, "size": len(layer)}},
	})
	md := digest.SHA512.FromBytes(man)
	ct := []string{"Content-Type", "application/vnd.oci.image.manifest.v1+json"}
	if resp := do(t, c, "PUT", base+"/manifests/"+md.String(), tok, man, ct...); resp.StatusCode != http.StatusCreated || resp.Header.Get("Docker-Content-Digest") != md.String() {
		t.Fatalf("put manifest by sha512 digest: %s, Docker-Content-Digest %q", resp.Status, resp.Header.Get("Docker-Content-Digest"))
	}
	bad := digest.SHA512.FromBytes([]byte("something else"))
	if resp := do(t, c, "PUT", base+"/manifests/"+bad.String(), tok, man, ct...); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("put manifest by a digest it does not have: %s, want 400", resp.Status)
	}
	if resp := do(t, c, "PUT", base+"/manifests/1", tok, man, ct...); resp.StatusCode != http.StatusCreated {
		t.Fatalf("put manifest by tag: %s", resp.Status)
	}
	if err := r.reg.CollectGarbage(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want []byte
	}{{"/manifests/" + md.String(), man}, {"/manifests/1", man}, {"/blobs/" + ld.String(), layer}, {"/blobs/" + cd.String(), config}} {
		resp := do(t, c, "GET", base+tc.path, tok, nil, "Accept", "application/vnd.oci.image.manifest.v1+json")
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != string(tc.want) {
			t.Errorf("GET %s after garbage collection: %s %q", tc.path, resp.Status, fmt.Sprint(string(body)))
		}
	}
}
