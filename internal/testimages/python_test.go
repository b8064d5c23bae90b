package testimages

import (
	"archive/tar"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// pythonBase returns the Python base image's archive, skipping (outside
// CI) where it cannot be made.
func pythonBase(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: the Python base image downloads Debian packages on its first run")
	}
	Tool(t, "mmdebstrap", "mmdebstrap")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	p, err := PythonFlaskBase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPythonFlaskBase(t *testing.T) {
	p := pythonBase(t)

	start := time.Now()
	again, err := PythonFlaskBase(context.Background())
	if err != nil || again != p {
		t.Fatalf("second call: %q, %v; want the cached %q", again, err, p)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("second call took %s: not cached", d)
	}

	tag, _ := name.NewTag(PythonBaseRef)
	img, err := tarball.ImageFromPath(p, &tag)
	if err != nil {
		t.Fatalf("archive has no %s: %v", PythonBaseRef, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cf.Config.Cmd, []string{"python3"}) || !slices.ContainsFunc(cf.Config.Env, func(e string) bool { return strings.HasPrefix(e, "PATH=") }) {
		t.Errorf("config: Cmd %q Env %q", cf.Config.Cmd, cf.Config.Env)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %d, %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	ents := layerEntries(t, rc)
	for _, want := range []string{"usr/bin/python3", "usr/bin/python", "usr/bin/pip", "usr/lib/python3/dist-packages/flask/__init__.py", "tmp/", "dev/"} {
		if _, ok := ents[want]; !ok {
			t.Errorf("image has no %s", want)
		}
	}
	for n, h := range ents {
		switch {
		case strings.HasPrefix(n, "./") || strings.HasPrefix(n, "/"):
			t.Errorf("entry %q is not relative to the root", n)
		case strings.HasSuffix(n, "EXTERNALLY-MANAGED"):
			t.Errorf("%s is in the image: pip would refuse to install", n)
		case h.Typeflag == tar.TypeChar || h.Typeflag == tar.TypeBlock:
			t.Errorf("device node %s in the image", n)
		}
	}
}

// TestPythonFlaskBasePip runs what the tutorial's Dockerfile runs, in the
// image's root filesystem with no network: pip finds flask installed.
func TestPythonFlaskBasePip(t *testing.T) {
	p := pythonBase(t)
	if os.Geteuid() != 0 {
		t.Skip("chroot needs root")
	}
	tag, _ := name.NewTag(PythonBaseRef)
	img, err := tarball.ImageFromPath(p, &tag)
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	root := t.TempDir()
	untar := exec.Command("tar", "-x", "-C", root)
	untar.Stdin = rc
	if out, err := untar.CombinedOutput(); err != nil {
		t.Fatalf("untar: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(root, "tmp/requirements.txt"), []byte("flask\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"pip", "install", "-r", "/tmp/requirements.txt"}, "Requirement already satisfied: flask"},
		{[]string{"python", "-c", "import flask; print('flask', flask.__name__)"}, "flask flask"},
	}
	for _, tt := range tests {
		// unshare -n: pip must not need the network to be satisfied.
		cmd := exec.Command("unshare", append([]string{"-n", "chroot", root}, tt.args...)...)
		cmd.Env = append(imageEnv(t, img), "HOME=/root")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), tt.want) {
			t.Errorf("%s: %v\n%s\nwant %q", strings.Join(tt.args, " "), err, out, tt.want)
		}
	}
}

func imageEnv(t *testing.T, img v1.Image) []string {
	t.Helper()
	c, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return c.Config.Env
}
