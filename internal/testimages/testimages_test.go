package testimages

import (
	"archive/tar"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func layerEntries(t *testing.T, rc io.ReadCloser) map[string]*tar.Header {
	t.Helper()
	defer rc.Close()
	out := map[string]*tar.Header{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out[hdr.Name] = hdr
	}
}

func TestBusybox(t *testing.T) {
	img, err := Busybox()
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cf.Config.Cmd, []string{"sh"}) || cf.OS != "linux" {
		t.Errorf("config: %+v", cf)
	}
	layers, _ := img.Layers()
	if len(layers) != 1 {
		t.Fatalf("%d layers", len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	ents := layerEntries(t, rc)
	for _, applet := range []string{"sh", "ls", "cat", "echo", "sleep", "wget", "nc", "id", "hostname", "env", "ps", "top", "mount"} {
		h, ok := ents["bin/"+applet]
		if !ok || h.Typeflag != tar.TypeSymlink || h.Linkname != "busybox" {
			t.Errorf("bin/%s: %+v", applet, h)
		}
	}
	if h := ents["bin/busybox"]; h == nil || h.Mode&0o111 == 0 || h.Size < 100000 {
		t.Errorf("bin/busybox: %+v", h)
	}
	if h := ents["tmp/"]; h == nil || h.Mode&0o1777 != 0o1777 {
		t.Errorf("tmp: %+v", h)
	}
}

func TestStaticGo(t *testing.T) {
	// Go's build cache follows XDG_CACHE_HOME: keep the warm one.
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOCACHE", strings.TrimSpace(string(gocache)))
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	bin, err := BuildStaticGo("testdata/hello")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "world").Output()
	if err != nil || string(out) != "hello world\n" {
		t.Fatalf("%s: %q %v", bin, out, err)
	}
	// Cached: the same file, not rebuilt.
	st, _ := os.Stat(bin)
	bin2, err := BuildStaticGo("testdata/hello")
	st2, _ := os.Stat(bin2)
	if err != nil || bin2 != bin || !st2.ModTime().Equal(st.ModTime()) {
		t.Errorf("second build: %s %v", bin2, err)
	}
	if !strings.HasPrefix(bin, filepath.Join(os.Getenv("XDG_CACHE_HOME"), "kemudi-test")) {
		t.Errorf("binary outside the cache dir: %s", bin)
	}

	img, err := StaticGo("testdata/hello")
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	if !slices.Equal(cf.Config.Entrypoint, []string{"/hello"}) {
		t.Errorf("entrypoint %v", cf.Config.Entrypoint)
	}
	layers, _ := img.Layers()
	rc, _ := layers[0].Uncompressed()
	if h := layerEntries(t, rc)["hello"]; h == nil || h.Mode != 0o755 {
		t.Errorf("/hello: %+v", h)
	}
}

func TestRegistry(t *testing.T) {
	reg, err := NewRegistry(BasicAuth("u", "p"))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	img, err := Busybox()
	if err != nil {
		t.Fatal(err)
	}
	// Push goes around the middleware.
	byDigest, err := reg.Push("busybox:1", img)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(byDigest)
	if _, err := remote.Get(ref); err == nil || !strings.Contains(err.Error(), "UNAUTHORIZED") {
		t.Errorf("anonymous pull through BasicAuth: %v", err)
	}
	got, err := remote.Image(ref, remote.WithAuth(authn.FromConfig(authn.AuthConfig{Username: "u", Password: "p"})))
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := got.Digest(); !strings.HasSuffix(byDigest, d.String()) {
		t.Errorf("pulled %s, pushed %s", d, byDigest)
	}
}
