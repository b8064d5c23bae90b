// Package dnsexetest puts the kemudi-dns of the current sources where
// `go build ./cmd/kemudi` embeds it, as the Makefile's build does, for
// tests and benchmarks that build kemudi themselves.
package dnsexetest

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/kemudi/kemudi/internal/embedexe"
)

var once struct {
	sync.Once
	err error
}

// EmbedCurrent builds cmd/kemudi-dns as the Makefile does, gzipped, into
// internal/dns/dnsexe/bin. A test that built kemudi without it would
// embed whatever an earlier `make` left there (old code), or nothing.
func EmbedCurrent() error {
	once.Do(func() { once.err = embedCurrent() })
	return once.err
}

func embedCurrent() error {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return fmt.Errorf("embed kemudi-dns: no caller")
	}
	// internal/dns/dnsexe/dnsexetest/embed.go
	root := filepath.Join(filepath.Dir(file), "..", "..", "..", "..")
	tmpDir, err := os.MkdirTemp("", "kemudi-dns-build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmpDir)
	built := filepath.Join(tmpDir, "kemudi-dns")
	cmd := exec.Command("go", "build", "-trimpath", "-tags", "netgo osusergo", "-ldflags", "-s -w", "-o", built, "./cmd/kemudi-dns")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build kemudi-dns: %w\n%s", err, out)
	}
	exe, err := os.ReadFile(built)
	if err != nil {
		return err
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(exe)
	if err := zw.Close(); err != nil {
		return err
	}
	dst := filepath.Join(root, "internal", "dns", "dnsexe", "bin", "kemudi-dns.gz")
	if err := embedexe.Place(dst, gz.Bytes()); err != nil {
		return fmt.Errorf("embed kemudi-dns: %w", err)
	}
	return nil
}
