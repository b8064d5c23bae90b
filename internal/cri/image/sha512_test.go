package image

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/kemudi/kemudi/internal/testimages"
)

// sha512Image is an OCI image whose manifest, config, layer and diff ID
// are all sha512 digests, served by a minimal registry on 127.0.0.1 as
// five12:1 and by its manifest's digest.
type sha512Image struct {
	host, manifestDigest, configDigest string
}

func sha512Of(b []byte) string {
	sum := sha512.Sum512(b)
	return "sha512:" + hex.EncodeToString(sum[:])
}

func serveSHA512Image(t *testing.T) sha512Image {
	t.Helper()
	layer, err := testimages.LayerTar(F{Path: "hello", Content: "from sha512 content"})
	if err != nil {
		t.Fatal(err)
	}
	config, _ := json.Marshal(map[string]any{
		"architecture": runtime.GOARCH, "os": "linux", "config": map[string]any{"Cmd": []string{"sh"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{sha512Of(layer)}},
	})
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha512Of(config), "size": len(config)},
		"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha512Of(layer), "size": len(layer)}},
	})
	img := sha512Image{manifestDigest: sha512Of(manifest), configDigest: sha512Of(config)}
	blobs := map[string][]byte{sha512Of(layer): layer, img.configDigest: config}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch p := req.URL.Path; {
		case p == "/v2/":
		case p == "/v2/five12/manifests/1" || p == "/v2/five12/manifests/"+img.manifestDigest:
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			w.Header().Set("Docker-Content-Digest", img.manifestDigest)
			w.Write(manifest)
		case strings.HasPrefix(p, "/v2/five12/blobs/") && blobs[strings.TrimPrefix(p, "/v2/five12/blobs/")] != nil:
			w.Write(blobs[strings.TrimPrefix(p, "/v2/five12/blobs/")])
		default:
			http.Error(w, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}`, http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	img.host = strings.TrimPrefix(srv.URL, "http://")
	return img
}

// Content addressed by sha512 (the OCI image spec registers it beside
// sha256): pulled by tag and by @sha512 digest, found by its sha512 ID
// or a prefix of it, run, exported and imported again, and removed
// without a blob left. Other algorithms are an invalid reference.
func TestSHA512Image(t *testing.T) {
	requireRoot(t)
	img := serveSHA512Image(t)
	s := newStore(t, Options{})
	ctx := context.Background()
	byTag, err := s.Pull(ctx, img.host+"/five12:1", nil)
	if err != nil {
		t.Fatalf("pull by tag: %v", err)
	}
	if byTag.ID != img.configDigest {
		t.Errorf("ID %s, want the config's digest %s", byTag.ID, img.configDigest)
	}
	byDigest, err := s.Pull(ctx, img.host+"/five12@"+img.manifestDigest, nil)
	if err != nil {
		t.Fatalf("pull by sha512 digest: %v", err)
	}
	if want := img.host + "/five12@" + img.manifestDigest; !strings.Contains(sprint(byDigest.RepoDigests), want) {
		t.Errorf("repo digests %v lack %s", byDigest.RepoDigests, want)
	}
	hexID := strings.TrimPrefix(img.configDigest, "sha512:")
	for _, ref := range []string{img.configDigest, hexID, hexID[:12], "sha512:" + hexID[:12], img.host + "/five12:1", img.host + "/five12@" + img.manifestDigest} {
		if got, err := s.Get(ref); err != nil || got.ID != img.configDigest {
			t.Errorf("Get(%q) = %s, %v", ref, got.ID, err)
		}
	}
	if _, err := s.Get("sha256:" + hexID[:12]); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of the ID's hex as sha256: %v, want ErrNotFound", err)
	}
	target := mount(t, mustRootfs(t, s, "c", byTag.ID))
	if got := readFile(t, filepath.Join(target, "hello")); got != "from sha512 content" {
		t.Errorf("hello = %q", got)
	}

	var archive bytes.Buffer
	if err := s.Export(ctx, &archive, []string{byTag.ID}, OCIArchive); err != nil {
		t.Fatalf("export: %v", err)
	}
	other := newStore(t, Options{})
	imported, err := other.Import(ctx, &archive)
	if err != nil || len(imported) != 1 || imported[0].ID != img.configDigest {
		t.Fatalf("import of the export: %v, %v", imported, err)
	}

	for _, ref := range []string{img.host + "/five12@sha384:" + strings.Repeat("ab", 48), img.host + "/five12@sha512:abc"} {
		if _, err := s.Pull(ctx, ref, nil); !errors.Is(err, ErrInvalidReference) {
			t.Errorf("pull %s: %v, want ErrInvalidReference", ref, err)
		}
	}
	if err := Unmount(target); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveRootfs("c"); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(byTag.ID); err != nil {
		t.Fatal(err)
	}
	if left := leftovers(t, s); len(left) != 0 {
		t.Errorf("after removing the image: %v", left)
	}
}

// An image of sha512 content pushes as it is (its manifest still names
// its blobs by sha512) to kemudi's registry and pulls back from it.
func TestSHA512Push(t *testing.T) {
	requireRoot(t)
	img := serveSHA512Image(t)
	tr := startTLSRegistry(t, "alifah", "s3cret")
	s := newStore(t, Options{RegistryConfig: tr.registryConfig})
	ctx := context.Background()
	if _, err := s.Pull(ctx, img.host+"/five12:1", nil); err != nil {
		t.Fatal(err)
	}
	dst := tr.host + "/copies/five12:1"
	if _, err := s.Tag(img.host+"/five12:1", dst); err != nil {
		t.Fatal(err)
	}
	auth := &Auth{Username: "alifah", Password: "s3cret"}
	d, err := s.Push(ctx, dst, auth, nil)
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	other := newStore(t, Options{RegistryConfig: tr.registryConfig})
	for _, ref := range []string{dst, tr.host + "/copies/five12@" + d} {
		got, err := other.Pull(ctx, ref, auth)
		if err != nil || got.ID != img.configDigest {
			t.Errorf("pull back %s: %v, %v", ref, got.ID, err)
		}
	}
}
