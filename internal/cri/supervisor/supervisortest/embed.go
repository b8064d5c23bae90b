package supervisortest

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/kemudi/kemudi/internal/embedexe"
)

var embedOnce struct {
	sync.Once
	err error
}

// EmbedCurrent puts the kemudi-supervisor of the current sources where
// `go build ./cmd/kemudi` embeds it (internal/cri/supervisor/bin), as the
// Makefile's build does. A test that builds kemudi without it would embed
// whatever an earlier `make` left there: a stale supervisor, which runs
// the pods of that test with old code.
func EmbedCurrent() error {
	embedOnce.Do(func() { embedOnce.err = embedCurrent() })
	return embedOnce.err
}

func embedCurrent() error {
	built, err := build()
	if err != nil {
		return fmt.Errorf("build kemudi-supervisor: %w", err)
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	want, err := os.ReadFile(built)
	if err != nil {
		return err
	}
	dst := filepath.Join(root, "internal", "cri", "supervisor", "bin", "kemudi-supervisor")
	if err := embedexe.Place(dst, want); err != nil {
		return fmt.Errorf("embed kemudi-supervisor: %w", err)
	}
	return nil
}
