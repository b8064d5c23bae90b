package registry_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrv1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"

	"github.com/kemudi/kemudi/internal/testimages"
)

// token asks the token endpoint for scope as user (no user: anonymous).
func (r *testRegistry) token(t *testing.T, c *http.Client, user, password string, scopes ...string) (string, int) {
	t.Helper()
	q := url.Values{"service": {"kemudi-registry"}, "scope": scopes}
	req, _ := http.NewRequest(http.MethodGet, "https://"+r.host+"/token?"+q.Encode(), nil)
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&body)
	return body.Token, resp.StatusCode
}

// do sends a registry request with a bearer token.
func do(t *testing.T, c *http.Client, method, u, tok string, body []byte, hdr ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func readAll(t *testing.T, resp *http.Response) string {
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// blobFiles counts the blobs in the storage.
func blobFiles(t *testing.T, storage string) int {
	n := 0
	filepath.WalkDir(filepath.Join(storage, "docker/registry/v2/blobs"), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "data" {
			n++
		}
		return nil
	})
	return n
}

func TestPushPullDeleteGC(t *testing.T) {
	r := startRegistry(t)
	img, err := testimages.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(r.host + "/alifah/busybox:1")
	tr := r.client().Transport
	admin := remote.WithAuth(&authn.Basic{Username: "admin", Password: r.password})
	if err := remote.Write(ref, img, admin, remote.WithTransport(tr)); err != nil {
		t.Fatalf("push as admin: %v", err)
	}
	got, err := remote.Image(ref, admin, remote.WithTransport(tr))
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	want, _ := img.Digest()
	if d, _ := got.Digest(); d != want {
		t.Fatalf("pulled %s, pushed %s", d, want)
	}
	if _, err := remote.Image(ref, remote.WithTransport(tr)); !isStatus(err, http.StatusUnauthorized) {
		t.Fatalf("anonymous pull: %v, want 401", err)
	}

	c := r.client()
	tok, _ := r.token(t, c, "admin", r.password, "registry:catalog:*", "repository:alifah/busybox:pull,delete")
	if body := readAll(t, do(t, c, "GET", "https://"+r.host+"/v2/_catalog", tok, nil)); !strings.Contains(body, `"alifah/busybox"`) {
		t.Errorf("catalog = %s", body)
	}
	if body := readAll(t, do(t, c, "GET", "https://"+r.host+"/v2/alifah/busybox/tags/list", tok, nil)); !strings.Contains(body, `"1"`) {
		t.Errorf("tags = %s", body)
	}
	before := blobFiles(t, r.layout.Storage)
	if resp := do(t, c, "DELETE", "https://"+r.host+"/v2/alifah/busybox/manifests/"+want.String(), tok, nil); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("delete manifest: %s %s", resp.Status, readAll(t, resp))
	}
	if resp := do(t, c, "GET", "https://"+r.host+"/v2/alifah/busybox/manifests/1", tok, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("deleted manifest by tag: %s", resp.Status)
	}
	if err := r.reg.CollectGarbage(t.Context()); err != nil {
		t.Fatal(err)
	}
	if after := blobFiles(t, r.layout.Storage); before == 0 || after != 0 {
		t.Errorf("blobs before gc %d, after %d; want >0 then 0", before, after)
	}
}

func isStatus(err error, code int) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == code
}

func TestWrongPasswordStoresNothing(t *testing.T) {
	r := startRegistry(t)
	img, _ := testimages.Busybox()
	ref, _ := name.ParseReference(r.host + "/alifah/busybox:1")
	err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "admin", Password: "wrong"}), remote.WithTransport(r.client().Transport))
	if !isStatus(err, http.StatusUnauthorized) {
		t.Fatalf("push with a wrong password: %v, want 401", err)
	}
	if _, code := r.token(t, r.client(), "nobody", "x", "repository:a/b:pull"); code != http.StatusUnauthorized {
		t.Errorf("token for an unknown user: %d, want 401", code)
	}
	if n := blobFiles(t, r.layout.Storage); n != 0 {
		t.Errorf("%d blobs stored after a refused push", n)
	}
}

func TestDigestMismatchRefused(t *testing.T) {
	r := startRegistry(t)
	c := r.client()
	tok, _ := r.token(t, c, "admin", r.password, "repository:a/b:pull,push")
	base := "https://" + r.host + "/v2/a/b/blobs/"
	resp := do(t, c, "POST", base+"uploads/", tok, nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("start upload: %s", resp.Status)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	loc = resp.Request.URL.ResolveReference(loc)
	claimed := digest.FromString("what the client says it sends")
	q := loc.Query()
	q.Set("digest", claimed.String())
	loc.RawQuery = q.Encode()
	resp = do(t, c, "PUT", loc.String(), tok, []byte("something else"), "Content-Type", "application/octet-stream")
	body := readAll(t, resp)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "DIGEST_INVALID") {
		t.Fatalf("upload with a wrong digest: %s %s, want 400 DIGEST_INVALID", resp.Status, body)
	}
	if resp := do(t, c, "HEAD", base+claimed.String(), tok, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("HEAD of the claimed digest: %s, want 404", resp.Status)
	}
	if n := blobFiles(t, r.layout.Storage); n != 0 {
		t.Errorf("%d blobs stored after a refused upload", n)
	}
}

func TestChunkedUploadAndMount(t *testing.T) {
	r := startRegistry(t)
	c := r.client()
	tok, _ := r.token(t, c, "admin", r.password, "repository:a/src:pull,push", "repository:a/dst:pull,push")
	data := bytes.Repeat([]byte("kemudi "), 100000)
	dgst := digest.FromBytes(data)
	resp := do(t, c, "POST", "https://"+r.host+"/v2/a/src/blobs/uploads/", tok, nil)
	loc := resp.Request.URL.ResolveReference(must(url.Parse(resp.Header.Get("Location"))))
	half := len(data) / 2
	resp = do(t, c, "PATCH", loc.String(), tok, data[:half], "Content-Type", "application/octet-stream", "Content-Range", fmt.Sprintf("0-%d", half-1))
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("first chunk: %s %s", resp.Status, readAll(t, resp))
	}
	loc = resp.Request.URL.ResolveReference(must(url.Parse(resp.Header.Get("Location"))))
	// A client that lost track asks where the upload stands (resuming).
	resp = do(t, c, "GET", loc.String(), tok, nil)
	if got := resp.Header.Get("Range"); resp.StatusCode != http.StatusNoContent || got != fmt.Sprintf("0-%d", half-1) {
		t.Fatalf("upload status: %s Range %q", resp.Status, got)
	}
	q := loc.Query()
	q.Set("digest", dgst.String())
	loc.RawQuery = q.Encode()
	resp = do(t, c, "PUT", loc.String(), tok, data[half:], "Content-Type", "application/octet-stream", "Content-Range", fmt.Sprintf("%d-%d", half, len(data)-1))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("last chunk: %s %s", resp.Status, readAll(t, resp))
	}
	resp = do(t, c, "POST", "https://"+r.host+"/v2/a/dst/blobs/uploads/?mount="+dgst.String()+"&from=a/src", tok, nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("cross-repository mount: %s, want 201", resp.Status)
	}
	resp = do(t, c, "GET", "https://"+r.host+"/v2/a/dst/blobs/"+dgst.String(), tok, nil)
	if got := readAll(t, resp); got != string(data) {
		t.Fatalf("mounted blob: %s, %d bytes, want %d", resp.Status, len(got), len(data))
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

type v1Image = ggcrv1.Image

func pushAsAdmin(r *testRegistry, ref string, img v1Image) error {
	rf, err := name.ParseReference(ref)
	if err != nil {
		return err
	}
	return remote.Write(rf, img, remote.WithAuth(&authn.Basic{Username: "admin", Password: r.password}), remote.WithTransport(r.client().Transport))
}

// TestNodeCertificate: a client certificate from the cluster CA in
// system:nodes pulls without a password and may not push; one from
// another CA is refused at the handshake.
func TestNodeCertificate(t *testing.T) {
	r := startRegistry(t)
	img, _ := testimages.Busybox()
	ref := r.host + "/alifah/busybox:1"
	if err := pushAsAdmin(r, ref, img); err != nil {
		t.Fatal(err)
	}
	nodeCert := r.ca.issue(t, "system:node:n1", []string{"system:nodes"}, nil)
	node := remote.WithTransport(r.client(nodeCert).Transport)
	rf, _ := name.ParseReference(ref)
	if _, err := remote.Image(rf, node); err != nil {
		t.Fatalf("node pull: %v", err)
	}
	if err := remote.Write(must(name.ParseReference(r.host+"/alifah/pushed-by-node:1")), img, node); !isStatus(err, http.StatusUnauthorized) {
		t.Errorf("node push: %v, want 401", err)
	}
	userCert := r.ca.issue(t, "alice", []string{"developers"}, nil)
	if _, err := remote.Image(rf, remote.WithTransport(r.client(userCert).Transport)); !isStatus(err, http.StatusUnauthorized) {
		t.Errorf("pull with a non-node certificate: %v, want 401", err)
	}
	other := newTestCA(t, filepath.Join(t.TempDir(), "other-ca.crt"))
	foreign := other.issue(t, "system:node:evil", []string{"system:nodes"}, nil)
	if _, err := remote.Image(rf, remote.WithTransport(r.client(foreign).Transport)); err == nil {
		t.Error("pull with a node certificate from another CA succeeded")
	}
}
