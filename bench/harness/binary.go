package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/kemudi/kemudi/internal/cri/supervisor/supervisortest"
	"github.com/kemudi/kemudi/internal/dns/dnsexe/dnsexetest"
)

// Binary returns the kemudi binary to run: path if set, else $KEMUDI_BIN,
// else one built with `go build` into a temporary directory, with the
// current sources' kemudi-supervisor and kemudi-dns embedded as the
// Makefile does. cleanup removes what was built (a no-op otherwise) and
// is never nil.
func Binary(ctx context.Context, path string) (bin string, cleanup func(), err error) {
	noop := func() {}
	if path != "" {
		return path, noop, nil
	}
	if b := os.Getenv("KEMUDI_BIN"); b != "" {
		return b, noop, nil
	}
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", noop, fmt.Errorf("find the module: go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", noop, fmt.Errorf("not inside the kemudi module; set KEMUDI_BIN")
	}
	if err := supervisortest.EmbedCurrent(); err != nil {
		return "", noop, err
	}
	if err := dnsexetest.EmbedCurrent(); err != nil {
		return "", noop, err
	}
	dir, err := os.MkdirTemp("", "kemudi-bench-bin-")
	if err != nil {
		return "", noop, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	bin = filepath.Join(dir, "kemudi")
	// -trimpath: the same sources give the same build cache keys in every
	// checkout (a git worktree builds from the cache of another).
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./cmd/kemudi")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		cleanup()
		return "", noop, fmt.Errorf("go build ./cmd/kemudi: %w\n%s", err, out)
	}
	return bin, cleanup, nil
}

var shared struct {
	once    sync.Once
	bin     string
	cleanup func()
	err     error
}

// SharedBinary is Binary(ctx, "") once per process, for tests and
// benchmarks that start many servers; CleanupSharedBinary, from
// TestMain, removes what it built.
func SharedBinary() (string, error) {
	shared.once.Do(func() {
		shared.bin, shared.cleanup, shared.err = Binary(context.Background(), "")
	})
	return shared.bin, shared.err
}

// CleanupSharedBinary removes the binary SharedBinary built, if any.
func CleanupSharedBinary() {
	if shared.cleanup != nil {
		shared.cleanup()
	}
}
