package image

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kemudi/kemudi/internal/testimages"
)

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (overlay mounts, ownership, device nodes)")
	}
}

func newStore(t testing.TB, opts Options) *Store {
	t.Helper()
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	if opts.Root == "" {
		opts.Root = filepath.Join(t.TempDir(), "images")
	}
	s, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func newRegistry(t testing.TB, wrap ...testimages.Middleware) *testimages.Registry {
	t.Helper()
	r, err := testimages.NewRegistry(wrap...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func mustLayer(t testing.TB, files ...testimages.File) v1.Layer {
	t.Helper()
	l, err := testimages.Layer(files...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func mustImage(t testing.TB, cfg v1.Config, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := testimages.Image(cfg, layers...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func mustPush(t testing.TB, r *testimages.Registry, repoTag string, img v1.Image) string {
	t.Helper()
	d, err := r.Push(repoTag, img)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func digestOf(t testing.TB, img interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// mount mounts rootfs at a new directory, unmounted at the test's end.
func mount(t testing.TB, r Rootfs) string {
	t.Helper()
	target := t.TempDir()
	if err := r.Mount(target); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := Unmount(target); err != nil {
			t.Errorf("unmount: %v", err)
		}
	})
	return target
}

// requestLog counts the requests a registry gets, by method and path.
type requestLog struct {
	mu    sync.Mutex
	count map[string]int
}

func (l *requestLog) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		l.mu.Lock()
		if l.count == nil {
			l.count = map[string]int{}
		}
		l.count[req.Method+" "+req.URL.Path]++
		l.mu.Unlock()
		next.ServeHTTP(w, req)
	})
}

// blobGets is how many times each blob was downloaded (GET), by digest.
func (l *requestLog) blobGets() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int{}
	for k, n := range l.count {
		if i := strings.Index(k, "/blobs/"); i >= 0 && strings.HasPrefix(k, "GET ") {
			out[k[i+len("/blobs/"):]] += n
		}
	}
	return out
}

// leftovers lists what the store holds on disk beyond an empty store:
// blobs, snapshots, half-written blobs, import files.
func leftovers(t testing.TB, s *Store) []string {
	t.Helper()
	var out []string
	for _, d := range append(s.content.algoDirs(), s.content.ingestDir(), s.snapshotsDir(), s.tmpDir()) {
		ents, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			rel, _ := filepath.Rel(s.root, filepath.Join(d, e.Name()))
			out = append(out, rel)
		}
	}
	return out
}

func readFile(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sprint(v any) string { return fmt.Sprintf("%+v", v) }
