package image

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// FuzzUnpack: whatever the layer (any compression), unpacking never
// panics and never writes outside the layer's directory.
func FuzzUnpack(f *testing.F) {
	// More seeds in testdata/fuzz/FuzzUnpack.
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		wd := time.AfterFunc(5*time.Second, func() {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			panic(fmt.Sprintf("hung on %q\n%s", data, buf[:n]))
		})
		defer wd.Stop()
		outer := t.TempDir()
		sentinel := filepath.Join(outer, "outside")
		if err := os.WriteFile(sentinel, []byte("untouched"), 0o644); err != nil {
			t.Fatal(err)
		}
		root := filepath.Join(outer, "root")
		if err := os.Mkdir(root, 0o755); err != nil {
			t.Fatal(err)
		}
		rc, err := decompress(bufio.NewReader(bytes.NewReader(data)))
		if err != nil {
			return
		}
		defer rc.Close()
		_ = unpackLayer(rc, root, unpackOptions{})
		ents, err := os.ReadDir(outer)
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) != 2 {
			t.Fatalf("outside the layer root: %v", ents)
		}
		if b, err := os.ReadFile(sentinel); err != nil || string(b) != "untouched" {
			t.Fatalf("sentinel changed: %q %v", b, err)
		}
	})
}

// FuzzRegistriesConfig: parsing never panics, and a config it accepts
// gives every registry usable sources.
func FuzzRegistriesConfig(f *testing.F) {
	// More seeds in testdata/fuzz/FuzzRegistriesConfig.
	f.Add([]byte("mirrors:\n  docker.io:\n    endpoint: [\"http://127.0.0.1:5000\"]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseRegistriesConfig(data)
		if err != nil {
			return
		}
		r := &registries{cfg: *cfg}
		for host := range cfg.Mirrors {
			srcs := r.sources(host, "library/app")
			if len(srcs) == 0 {
				t.Fatalf("no source for %q", host)
			}
			for _, s := range srcs {
				if s.host == "" {
					t.Fatalf("source without host for %q: %+v", host, s)
				}
			}
		}
	})
}
