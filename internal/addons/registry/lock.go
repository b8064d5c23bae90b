package registry

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// ErrServing is returned by CollectGarbage while a registry serves the
// same storage: a collection beside live pushes could sweep the blobs of
// a push whose manifest is still to come. The serving registry collects
// on its own timer.
var ErrServing = errors.New("a registry is serving this storage (kemudi server): it collects garbage on its own timer (--registry-gc-interval); stop it to collect now")

// lockFile is held shared by a serving registry and exclusively by an
// offline collection.
func lockFile(l Layout) string { return filepath.Join(l.Dir, "serving.lock") }

// lock takes the lock file (how: syscall.LOCK_SH or LOCK_EX, with
// LOCK_NB not to wait); the returned file holds it until closed.
func lock(l Layout, how int) (*os.File, error) {
	if err := os.MkdirAll(l.Dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(lockFile(l), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("registry lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrServing
		}
		return nil, fmt.Errorf("registry lock: %w", err)
	}
	return f, nil
}
