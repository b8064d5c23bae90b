package harness

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/kemudi/kemudi/internal/cri/supervisor/supervisortest"
)

// supervisorBeside serializes BinaryWithSupervisor's check and write
// between the tests of one process.
var supervisorBeside sync.Mutex

// BinaryWithSupervisor is SharedBinary. One built without the Makefile
// has no kemudi-supervisor embedded: it then runs the one next to it,
// which is built here as the Makefile does (libseccomp, static).
func BinaryWithSupervisor(tb testing.TB) string {
	tb.Helper()
	bin, err := SharedBinary()
	if err != nil {
		tb.Fatal(err)
	}
	supervisorBeside.Lock()
	defer supervisorBeside.Unlock()
	sup := filepath.Join(filepath.Dir(bin), "kemudi-supervisor")
	if _, err := os.Stat(sup); err == nil {
		return bin
	}
	data, err := os.ReadFile(supervisortest.Binary(tb))
	if err != nil {
		tb.Fatal(err)
	}
	// Renamed into place whole: another test process may be running the
	// file there.
	suffix := make([]byte, 4)
	rand.Read(suffix)
	tmp := sup + ".tmp-" + hex.EncodeToString(suffix)
	if err := os.WriteFile(tmp, data, 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, sup); err != nil {
		os.Remove(tmp)
		tb.Fatal(err)
	}
	return bin
}
