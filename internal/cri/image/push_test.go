package image

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/kemudi/kemudi/internal/testimages"
)

// importImage stores img in s under tag, as `kemudi image import` would.
func importImage(t testing.TB, s *Store, tag string, img v1.Image) Image {
	t.Helper()
	var buf bytes.Buffer
	if err := testimages.DockerArchive(&buf, map[string]v1.Image{tag: img}); err != nil {
		t.Fatal(err)
	}
	imgs, err := s.Import(context.Background(), &buf)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return imgs[0]
}

// threeLayers is an image of three layers with a config worth checking.
func threeLayers(t testing.TB) v1.Image {
	return mustImage(t, v1.Config{Cmd: []string{"/bin/app"}, Env: []string{"A=1"}, WorkingDir: "/w"},
		mustLayer(t, F{Path: "one", Content: strings.Repeat("1", 100<<10)}),
		mustLayer(t, F{Path: "two", Content: "2"}),
		mustLayer(t, F{Path: "three", Content: "3"}))
}

func TestPushThenPullOnAFreshStore(t *testing.T) {
	requireRoot(t)
	reg := newRegistry(t, testimages.BasicAuth("alifah", "s3cret"))
	src := newStore(t, Options{})
	ctx := context.Background()
	imported := importImage(t, src, reg.Ref("alifah/flask:1"), threeLayers(t))
	auth := &Auth{Username: "alifah", Password: "s3cret"}

	var last PushProgress
	digest, err := src.Push(ctx, reg.Ref("alifah/flask:1"), auth, func(p PushProgress) { last = p })
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	if !strings.HasPrefix(digest, "sha256:") {
		t.Fatalf("digest %q", digest)
	}
	if last.Total == 0 || last.Complete != last.Total {
		t.Errorf("last progress %+v, want complete == total > 0", last)
	}
	got, err := src.Get(imported.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := reg.Ref("alifah/flask") + "@" + digest; !slices.Contains(got.RepoDigests, want) {
		t.Errorf("RepoDigests %v lack %s", got.RepoDigests, want)
	}

	dst := newStore(t, Options{})
	pulled, err := dst.Pull(ctx, reg.Ref("alifah/flask:1"), auth)
	if err != nil {
		t.Fatalf("pull back: %v", err)
	}
	if pulled.ID != imported.ID || !slices.Equal(pulled.Config.Cmd, []string{"/bin/app"}) || pulled.Size != imported.Size {
		t.Errorf("pulled %+v, pushed %+v", pulled, imported)
	}
	if !slices.Contains(pulled.RepoDigests, reg.Ref("alifah/flask")+"@"+digest) {
		t.Errorf("pulled RepoDigests %v, want the pushed digest %s", pulled.RepoDigests, digest)
	}
	root := mount(t, mustRootfs(t, dst, "c1", pulled.ID))
	for f, want := range map[string]string{"one": strings.Repeat("1", 100<<10), "two": "2", "three": "3"} {
		if got := readFile(t, filepath.Join(root, f)); got != want {
			t.Errorf("%s: %d bytes, want %d", f, len(got), len(want))
		}
	}
}

func TestPushRefused(t *testing.T) {
	requireRoot(t)
	log := &requestLog{}
	reg := newRegistry(t, log.middleware, testimages.BasicAuth("alifah", "s3cret"))
	s := newStore(t, Options{})
	importImage(t, s, reg.Ref("app:1"), threeLayers(t))
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		auth *Auth
	}{
		{"wrong password", &Auth{Username: "alifah", Password: "nope"}},
		{"no credentials", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Push(ctx, reg.Ref("app:1"), tc.auth, nil)
			if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "unauthorized") {
				t.Fatalf("push: %v, want unauthorized", err)
			}
		})
	}
	// Nothing reached the registry's storage: the tag is unknown to it.
	ref, _ := name.NewTag(reg.Ref("app:1"))
	_, err := remote.Head(ref, remote.WithAuth(authn.FromConfig(authn.AuthConfig{Username: "alifah", Password: "s3cret"})))
	if err == nil {
		t.Error("the registry has app:1 after refused pushes")
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	for k := range log.count {
		if strings.HasPrefix(k, "PATCH ") || strings.HasPrefix(k, "PUT ") {
			t.Errorf("refused push still sent %s", k)
		}
	}
	// Not in the store: an image by ID only has nowhere to go.
	if _, err := s.Push(ctx, reg.Ref("other:1"), &Auth{Username: "alifah", Password: "s3cret"}, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("push of an image not in the store: %v, want not found", err)
	}
}

func TestPushSendsEachBlobOnce(t *testing.T) {
	requireRoot(t)
	log := &requestLog{}
	reg := newRegistry(t, log.middleware)
	s := newStore(t, Options{})
	img := importImage(t, s, reg.Ref("app:1"), threeLayers(t))
	ctx := context.Background()
	count := func(prefix string) int {
		log.mu.Lock()
		defer log.mu.Unlock()
		n := 0
		for k, c := range log.count {
			if strings.HasPrefix(k, prefix) {
				n += c
			}
		}
		return n
	}
	reset := func() { log.mu.Lock(); log.count = nil; log.mu.Unlock() }

	if _, err := s.Push(ctx, reg.Ref("app:1"), nil, nil); err != nil {
		t.Fatal(err)
	}
	// Three layers and the config: four uploads, then the manifest.
	if n := count("POST "); n != 4 {
		t.Errorf("first push started %d uploads, want 4 (3 layers + config)", n)
	}

	reset()
	if _, err := s.Push(ctx, reg.Ref("app:1"), nil, nil); err != nil {
		t.Fatal(err)
	}
	if n := count("POST ") + count("PATCH ") + count("PUT /v2/app/blobs"); n != 0 {
		t.Errorf("second push sent blobs: %d upload requests (%v)", n, log.count)
	}

	// Another repository of the same registry: the blobs are mounted
	// from the first (the push recorded where the image is), not sent.
	reset()
	if _, err := s.Tag(img.ID, reg.Ref("copy:1")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Push(ctx, reg.Ref("copy:1"), nil, nil); err != nil {
		t.Fatal(err)
	}
	if n := count("PATCH "); n != 0 {
		t.Errorf("push to a second repository sent %d blob bodies, want mounts only (%v)", n, log.count)
	}
}

func TestTag(t *testing.T) {
	requireRoot(t)
	s := newStore(t, Options{})
	a := importImage(t, s, "a:1", mustImage(t, v1.Config{}, mustLayer(t, F{Path: "a", Content: "a"})))
	b := importImage(t, s, "b:1", mustImage(t, v1.Config{}, mustLayer(t, F{Path: "b", Content: "b"})))
	for _, tc := range []struct {
		src, dst string
		wantID   string
		wantErr  error
	}{
		{"a:1", "127.0.0.1:5000/alifah/a:1", a.ID, nil},
		{a.ID[len("sha256:"):][:12], "shared", a.ID, nil},
		{"b:1", "shared:latest", b.ID, nil}, // moves from a to b
		{"missing:1", "x:1", "", ErrNotFound},
		{"a:1", "x@sha256:" + strings.Repeat("0", 64), "", ErrInvalidReference},
		{"a:1", "Bad Name", "", ErrInvalidReference},
	} {
		img, err := s.Tag(tc.src, tc.dst)
		if tc.wantErr != nil {
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("Tag(%s, %s) = %v, want %v", tc.src, tc.dst, err, tc.wantErr)
			}
			continue
		}
		if err != nil || img.ID != tc.wantID {
			t.Errorf("Tag(%s, %s) = %s, %v; want %s", tc.src, tc.dst, img.ID, err, tc.wantID)
		}
	}
	got, err := s.Get("docker.io/library/shared:latest")
	if err != nil || got.ID != b.ID {
		t.Errorf("shared is %s (%v), want b %s", got.ID, err, b.ID)
	}
	got, _ = s.Get(a.ID)
	if want := []string{"docker.io/library/a:1", "127.0.0.1:5000/alifah/a:1"}; !slices.Equal(got.RepoTags, want) {
		t.Errorf("a's tags %v, want %v", got.RepoTags, want)
	}
	// The tags survive a restart.
	s2, err := Open(Options{Root: s.root})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s2.Get("127.0.0.1:5000/alifah/a:1"); err != nil || got.ID != a.ID {
		t.Errorf("after reopen: %v %v", got.ID, err)
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	requireRoot(t)
	src := newStore(t, Options{})
	app := importImage(t, src, "127.0.0.1:5000/alifah/flask:1", threeLayers(t))
	other := importImage(t, src, "other:2", mustImage(t, v1.Config{Entrypoint: []string{"/o"}},
		mustLayer(t, F{Path: "o", Content: "o"})))
	ctx := context.Background()
	for _, format := range []string{DockerArchive, OCIArchive} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := src.Export(ctx, &buf, []string{"127.0.0.1:5000/alifah/flask:1", "other:2"}, format); err != nil {
				t.Fatalf("export: %v", err)
			}
			dst := newStore(t, Options{})
			imgs, err := dst.Import(ctx, &buf)
			if err != nil {
				t.Fatalf("import of the export: %v", err)
			}
			if len(imgs) != 2 {
				t.Fatalf("imported %d images, want 2", len(imgs))
			}
			for _, want := range []Image{app, other} {
				got, err := dst.Get(want.RepoTags[0])
				if err != nil {
					t.Fatalf("%s after import: %v", want.RepoTags[0], err)
				}
				if got.ID != want.ID || !slices.Equal(got.RepoTags, want.RepoTags) || got.Size != want.Size {
					t.Errorf("imported %+v, exported %+v", got, want)
				}
			}
			root := mount(t, mustRootfs(t, dst, "c-"+format, app.ID))
			if got := readFile(t, filepath.Join(root, "two")); got != "2" {
				t.Errorf("file two: %q", got)
			}
		})
	}
	if err := src.Export(ctx, &bytes.Buffer{}, []string{"missing:1"}, DockerArchive); !errors.Is(err, ErrNotFound) {
		t.Errorf("export of a missing image: %v", err)
	}
	if err := src.Export(ctx, &bytes.Buffer{}, []string{"other:2"}, "zip"); err == nil {
		t.Error("export in an unknown format succeeded")
	}
}
