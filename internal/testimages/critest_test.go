package testimages

import (
	"archive/tar"
	"strings"
	"testing"
)

func TestCRITestImages(t *testing.T) {
	images, err := CRITestImages()
	if err != nil {
		t.Fatal(err)
	}
	digest := func(ref string) string {
		t.Helper()
		img, ok := images[ref]
		if !ok {
			t.Fatalf("no image %s", ref)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d.String()
	}
	const s = "k8s-staging-cri-tools/"
	if a, b := digest(s+"test-image-tags:1"), digest(s+"test-image-tags:3"); a != b {
		t.Errorf("test-image-tags:1 and :3 differ (%s, %s): critest wants one image under three tags", a, b)
	}
	seen := map[string]string{}
	for _, r := range []string{"test-image-1:latest", "test-image-2:latest", "test-image-3:latest", "test-image-latest:latest", "test-image-tag:test", "test-image-tag:all"} {
		d := digest(s + r)
		if other, ok := seen[d]; ok {
			t.Errorf("%s and %s are one image; critest wants them distinct", r, other)
		}
		seen[d] = r
	}
	for ref, user := range map[string]string{s + "test-image-user-uid:latest": "1002", s + "test-image-user-username-group:latest": "www-data:www-data"} {
		cf, err := images[ref].ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.Config.User != user {
			t.Errorf("%s: user %q, want %q", ref, cf.Config.User, user)
		}
	}

	files := map[string]*tar.Header{}
	layers, err := images["e2e-test-images/nonewprivs:1.3"].Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range layerEntries(t, rc) {
			files[k] = v
		}
	}
	if h := files["usr/local/bin/nnp"]; h == nil || h.Mode&0o4000 == 0 || h.Uid != 0 {
		t.Errorf("nnp is not setuid root: %+v", h)
	}
	if h := files["bin/ls"]; h == nil || h.Typeflag != tar.TypeLink || h.Linkname != "bin/busybox" {
		t.Errorf("bin/ls is not a hard link to busybox: %+v", h)
	}
	if h := files["bin/pgrep"]; h == nil || h.Mode&0o111 == 0 {
		t.Errorf("no executable bin/pgrep: %+v", h)
	}
	if y := CRITestRegistriesYAML("127.0.0.1:5000"); !strings.Contains(y, "registry.k8s.io:\n    endpoint: [\"http://127.0.0.1:5000\"]") {
		t.Errorf("registries.yaml:\n%s", y)
	}
}
