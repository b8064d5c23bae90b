package registry_test

import (
	"errors"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/kemudi/kemudi/internal/addons/registry"
	"github.com/kemudi/kemudi/internal/testimages"
)

// TestGCTimer: the blobs of a deleted image go on the timer, once no
// write has come for the quiet period.
func TestGCTimer(t *testing.T) {
	r := startRegistry(t, fixtureOptions{gcInterval: 100 * time.Millisecond, gcQuiet: 300 * time.Millisecond})
	img, _ := testimages.Busybox()
	if err := pushAsAdmin(r, r.host+"/a/gone:1", img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	c := r.client()
	tok, _ := r.token(t, c, "admin", r.password, "repository:a/gone:delete")
	if resp := do(t, c, "DELETE", "https://"+r.host+"/v2/a/gone/manifests/"+d.String(), tok, nil); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("delete: %s", resp.Status)
	}
	if n := blobFiles(t, r.layout.Storage); n == 0 {
		t.Fatal("no blobs right after the delete: nothing to collect")
	}
	deadline := time.Now().Add(30 * time.Second)
	for blobFiles(t, r.layout.Storage) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d blobs left 30 s after the delete", blobFiles(t, r.layout.Storage))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestOfflineGCRefusedWhileServing: `kemudi registry gc` does not sweep
// under a serving registry.
func TestOfflineGCRefusedWhileServing(t *testing.T) {
	r := startRegistry(t)
	if err := registry.CollectGarbage(t.Context(), r.layout); !errors.Is(err, registry.ErrServing) {
		t.Fatalf("offline gc beside a serving registry: %v, want ErrServing", err)
	}
}

func TestOfflineGC(t *testing.T) {
	l := registry.NewLayout(t.TempDir())
	if err := os.MkdirAll(l.Storage, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := registry.CollectGarbage(t.Context(), l); err != nil {
		t.Fatalf("offline gc of an idle storage: %v", err)
	}
}
