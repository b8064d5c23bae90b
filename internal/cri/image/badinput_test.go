package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/kemudi/kemudi/internal/testimages"
)

// TestBadInput: every bad reference, registry or image is refused with a
// clear error, and the store holds nothing afterwards.
func TestBadInput(t *testing.T) {
	requireRoot(t)
	good := mustImage(t, v1.Config{}, mustLayer(t, F{Path: "base", Content: strings.Repeat("b", 4096)}), mustLayer(t, F{Path: "f", Content: "f"}))
	goodLayers, _ := good.Layers()
	topLayer := digestOf(t, goodLayers[1])
	other := mustImage(t, v1.Config{Cmd: []string{"other"}}, mustLayer(t, F{Path: "o", Content: "o"}))
	otherManifest, _ := other.RawManifest()
	goodDigest := digestOf(t, good)

	escaping := mustImage(t, v1.Config{}, mustLayer(t, F{Path: "ok", Content: "ok"}), mustLayer(t, F{Path: "../escape", Content: "x"}))
	symlinkTrick := mustImage(t, v1.Config{}, mustLayer(t,
		F{Path: "lib", Type: '2', Link: "/"}, F{Path: "lib/tmp/evil", Content: "x"}))
	// A config that lies about the uncompressed layer.
	cf, _ := good.ConfigFile()
	cf = cf.DeepCopy()
	cf.RootFS.DiffIDs[1] = v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("0", 64)}
	badDiffID, err := mutate.ConfigFile(good, cf)
	if err != nil {
		t.Fatal(err)
	}

	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	tests := []struct {
		name    string
		wrap    []testimages.Middleware
		push    map[string]v1.Image
		ref     string // relative to the registry unless it has no ':'/'/' meaning
		abs     bool   // ref is used as is
		wantIs  error
		wantMsg string
	}{
		{name: "empty reference", ref: "", abs: true, wantIs: ErrInvalidReference},
		{name: "upper case", ref: "Busybox:1", abs: true, wantIs: ErrInvalidReference},
		{name: "bad tag", ref: "app:bad tag", abs: true, wantIs: ErrInvalidReference},
		{name: "short digest", ref: "app@sha256:1234", abs: true, wantIs: ErrInvalidReference},
		{name: "spaces", ref: " app:1", abs: true, wantIs: ErrInvalidReference},
		{name: "unknown tag 404", ref: "app:nope", push: map[string]v1.Image{"app:1": good}, wantIs: ErrNotFound, wantMsg: "404"},
		{name: "unauthorized 401", wrap: []testimages.Middleware{testimages.BasicAuth("u", "p")}, push: map[string]v1.Image{"app:1": good}, ref: "app:1", wantIs: ErrUnauthorized, wantMsg: "401"},
		{name: "server error 500", wrap: []testimages.Middleware{status(http.StatusInternalServerError, "")}, push: map[string]v1.Image{"app:1": good}, ref: "app:1", wantMsg: "500"},
		{name: "registry hangs", wrap: []testimages.Middleware{hangOn("/v2/", hang)}, push: map[string]v1.Image{"app:1": good}, ref: "app:1", wantMsg: "did not answer within"},
		{name: "layer download stalls", wrap: []testimages.Middleware{stallBody("/blobs/"+topLayer, hang)}, push: map[string]v1.Image{"app:1": good}, ref: "app:1", wantMsg: "timeout"},
		{name: "layer digest mismatch", wrap: []testimages.Middleware{corrupt("/blobs/" + topLayer)}, push: map[string]v1.Image{"app:1": good}, ref: "app:1", wantMsg: "digest mismatch"},
		{name: "manifest digest mismatch", wrap: []testimages.Middleware{replaceBody("/manifests/"+goodDigest, otherManifest)}, push: map[string]v1.Image{"app:1": good}, ref: "app@" + goodDigest, wantMsg: "digest"},
		{name: "layer escapes with ..", push: map[string]v1.Image{"app:1": escaping}, ref: "app:1", wantMsg: "escapes the layer root"},
		{name: "layer writes through an absolute symlink", push: map[string]v1.Image{"app:1": symlinkTrick}, ref: "app:1", wantMsg: "symbolic link"},
		{name: "layer does not match the config's diff ID", push: map[string]v1.Image{"app:1": badDiffID}, ref: "app:1", wantMsg: "uncompressed digest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := newRegistry(t, tc.wrap...)
			for rt, img := range tc.push {
				mustPush(t, reg, rt, img)
			}
			ref := tc.ref
			if !tc.abs {
				ref = reg.Ref(tc.ref)
			}
			s := newStore(t, Options{RegistryTimeout: 300 * time.Millisecond})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			start := time.Now()
			_, err := s.Pull(ctx, ref, nil)
			if err == nil {
				t.Fatal("pull succeeded")
			}
			t.Logf("error: %v (after %v)", err, time.Since(start).Round(time.Millisecond))
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error is not %v", tc.wantIs)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error does not say %q", tc.wantMsg)
			}
			if ctx.Err() != nil {
				t.Error("the pull ran into the caller's deadline: the store's own did not work")
			}
			if l := s.List(); len(l) != 0 {
				t.Errorf("images after a failed pull: %v", l)
			}
			if left := leftovers(t, s); len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}

// status answers every registry request with code.
func status(code int, body string) testimages.Middleware {
	return func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			http.Error(w, body, code)
		})
	}
}

// hangOn never answers requests under prefix until release closes.
func hangOn(prefix string, release <-chan struct{}) testimages.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if strings.HasPrefix(req.URL.Path, prefix) {
				select {
				case <-req.Context().Done():
				case <-release:
				}
				return
			}
			next.ServeHTTP(w, req)
		})
	}
}

// stallBody sends the headers and half the body of GETs of paths ending
// in suffix, then stops.
func stallBody(suffix string, release <-chan struct{}) testimages.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.Method != http.MethodGet || !strings.HasSuffix(req.URL.Path, suffix) {
				next.ServeHTTP(w, req)
				return
			}
			rec := &recorder{header: http.Header{}}
			next.ServeHTTP(rec, req)
			for k, v := range rec.header {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.code)
			w.Write(rec.body[:len(rec.body)/2])
			w.(http.Flusher).Flush()
			select {
			case <-req.Context().Done():
			case <-release:
			}
		})
	}
}

// corrupt flips a byte of the bodies of GETs of paths ending in suffix.
func corrupt(suffix string) testimages.Middleware {
	return rewriteBody(suffix, func(b []byte) []byte {
		b[len(b)/2] ^= 0xff
		return b
	})
}

// replaceBody serves body instead for GETs of paths ending in suffix.
func replaceBody(suffix string, body []byte) testimages.Middleware {
	return rewriteBody(suffix, func([]byte) []byte { return body })
}

func rewriteBody(suffix string, f func([]byte) []byte) testimages.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.Method != http.MethodGet || !strings.HasSuffix(req.URL.Path, suffix) {
				next.ServeHTTP(w, req)
				return
			}
			rec := &recorder{header: http.Header{}}
			next.ServeHTTP(rec, req)
			body := f(rec.body)
			for k, v := range rec.header {
				w.Header()[k] = v
			}
			w.Header().Del("Content-Length")
			w.WriteHeader(rec.code)
			w.Write(body)
		})
	}
}

type recorder struct {
	header http.Header
	code   int
	body   []byte
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	r.body = append(r.body, b...)
	return len(b), nil
}

func TestImportBadInput(t *testing.T) {
	requireRoot(t)
	img := mustImage(t, v1.Config{}, mustLayer(t, F{Path: "f", Content: "f"}))
	evil := mustImage(t, v1.Config{}, mustLayer(t, F{Path: "../../evil", Content: "x"}))
	tarOf := func(files ...F) []byte {
		b, err := testimages.LayerTar(files...)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var ociEscape bytes.Buffer
	if err := testimages.OCIArchive(&ociEscape, map[string]v1.Image{"x.local/app:1": img}); err != nil {
		t.Fatal(err)
	}
	// The same layout with one more entry that climbs out.
	escaping := appendEntry(t, ociEscape.Bytes(), F{Path: "../outside", Content: "x"})
	var evilArchive bytes.Buffer
	if err := testimages.DockerArchive(&evilArchive, map[string]v1.Image{"evil:1": evil}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		data    []byte
		wantMsg string
	}{
		{"not a tar", []byte("this is not an archive at all, not even close to one....."), "read archive"},
		{"empty tar", tarOf(), "not a docker-archive"},
		{"unrelated files", tarOf(F{Path: "etc/passwd", Content: "x"}), "not a docker-archive"},
		{"bad manifest.json", tarOf(F{Path: "manifest.json", Content: "{"}), "docker archive"},
		{"OCI layout entry escapes", escaping, "escapes"},
		{"layer escapes", evilArchive.Bytes(), "escapes the layer root"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t, Options{})
			_, err := s.Import(context.Background(), bytes.NewReader(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("err = %v, want %q", err, tc.wantMsg)
			}
			if l := s.List(); len(l) != 0 {
				t.Errorf("images after a failed import: %v", l)
			}
			if left := leftovers(t, s); len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}

// appendEntry returns the tar archive with one more entry.
func appendEntry(t *testing.T, archive []byte, f F) []byte {
	t.Helper()
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(tw, tr); err != nil {
			t.Fatal(err)
		}
	}
	extra, err := testimages.LayerTar(f)
	if err != nil {
		t.Fatal(err)
	}
	tr = tar.NewReader(bytes.NewReader(extra))
	hdr, _ := tr.Next()
	tw.WriteHeader(hdr)
	io.Copy(tw, tr)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
