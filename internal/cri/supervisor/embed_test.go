package supervisor

import (
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEmbeddedBinary runs the supervisor kemudi carries (built by `make
// supervisor` before kemudi), as kemudi does: Binary "" extracts it under
// Root.
func TestEmbeddedBinary(t *testing.T) {
	needRoot(t)
	if data, err := fs.ReadFile(embedded, embeddedName); err != nil || len(data) == 0 {
		t.Skip("no kemudi-supervisor embedded: run make supervisor first")
	}
	root := filepath.Join(t.TempDir(), "sup")
	f := &fixture{t: t, root: root, opts: Options{Root: root, Log: slog.New(slog.DiscardHandler)}, cgParent: "/kemudi-test-embedded"}
	f.c = f.connect()
	t.Cleanup(f.cleanup)
	if _, err := f.c.List(ctx(t)); err != nil {
		t.Fatalf("List: %v", err)
	}
	ents, err := os.ReadDir(filepath.Join(root, "bin"))
	if err != nil || len(ents) != 1 || !strings.HasPrefix(ents[0].Name(), "kemudi-supervisor-") {
		t.Errorf("extracted binaries %v (%v), want one kemudi-supervisor-<hash>", ents, err)
	}
}
