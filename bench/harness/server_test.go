package harness

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestServer starts the real binary, reads its memory, fetches a heap
// profile, stops it with SIGTERM and checks nothing is left: no process,
// no data directory.
func TestServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	root := t.TempDir()
	s, err := Start(context.Background(), Options{TempRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	m, err := s.Memory()
	if err != nil || m.RSS == 0 || m.Peak < m.RSS {
		t.Errorf("Memory() = %v, %v", m, err)
	}
	if _, err := os.Stat(s.Kubeconfig); err != nil {
		t.Errorf("admin kubeconfig: %v", err)
	}
	heap := filepath.Join(root, "heap.pprof")
	if err := s.HeapProfile(context.Background(), heap); err != nil {
		t.Error(err)
	} else if fi, err := os.Stat(heap); err != nil || fi.Size() == 0 {
		t.Errorf("heap profile: %v", err)
	}
	pid := s.PID
	if err := s.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	s.Close()
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("server pid %d still exists after Stop", pid)
	}
	if _, err := os.Stat(s.tempDir); !os.IsNotExist(err) {
		t.Errorf("data directory %s still exists after Close: %v", s.tempDir, err)
	}
	if l := s.Logs(); l.Errors > 0 {
		t.Errorf("server logged %d errors: %q", l.Errors, l.Samples)
	}
}
