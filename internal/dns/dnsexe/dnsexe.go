// Package dnsexe runs `kemudi dns` as kemudi-dns (cmd/kemudi-dns), the
// DNS server built alone, which kemudi embeds. kemudi initialises every
// package it links at start (kubectl's, the API server's, the
// runtime's): about 9 MiB more heap and a 220 MB executable to fault
// pages from, which a DNS server that should stay under 30 MiB cannot
// carry. kemudi-dns links the DNS server, client-go and no more; it
// takes the same flags (dns.StandaloneOptions.AddFlags).
package dnsexe

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/kemudi/kemudi/internal/embedexe"
)

// embedded holds bin/kemudi-dns.gz when the Makefile built it before
// kemudi (gzipped: 10 MB of kemudi instead of 30); otherwise only the
// committed README.
//
//go:embed bin
var embedded embed.FS

const embeddedName = "bin/kemudi-dns.gz"

// ErrNotEmbedded: this kemudi was built without kemudi-dns (plain `go
// build`, not make).
var ErrNotEmbedded = errors.New("kemudi-dns is not embedded in this kemudi (build it with make)")

// Exec replaces this process with the embedded kemudi-dns, given the
// flags set on flags: the pid, the signals and the exit status stay the
// caller's. It returns only when it could not: ErrNotEmbedded, or why
// the binary could not be written out or run.
func Exec(flags *pflag.FlagSet) error {
	data, err := fs.ReadFile(embedded, embeddedName)
	if err != nil || len(data) == 0 {
		return ErrNotEmbedded
	}
	dir, err := extractDir()
	if err != nil {
		return err
	}
	path, err := embedexe.ExtractGzip(dir, "kemudi-dns", data)
	if err != nil {
		return err
	}
	embedexe.RemoveOthers(dir, "kemudi-dns", path)
	// Read back a few pages at a time, not in the 2 MiB folios a fresh
	// write leaves (embedexe.Uncache).
	_ = embedexe.Uncache(path)
	argv := append([]string{path}, Args(flags)...)
	if err := syscall.Exec(path, argv, os.Environ()); err != nil {
		return fmt.Errorf("run %s: %w", path, err)
	}
	return nil
}

// extractDir is where kemudi-dns is written out: $XDG_CACHE_HOME/kemudi,
// else /var/cache/kemudi for root, else the user's cache directory.
func extractDir() (string, error) {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "kemudi", "bin"), nil
	}
	if os.Geteuid() == 0 {
		return "/var/cache/kemudi/bin", nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("where to write kemudi-dns: %w", err)
	}
	return filepath.Join(d, "kemudi", "bin"), nil
}

// Args is the command line that sets, on a flag set of the same flags,
// what was set on flags: each flag given, a list flag's items one by
// one (a list printed whole would not parse back), an emptied list as
// empty.
func Args(flags *pflag.FlagSet) []string {
	var args []string
	flags.Visit(func(f *pflag.Flag) {
		if l, ok := f.Value.(pflag.SliceValue); ok {
			if len(l.GetSlice()) == 0 {
				args = append(args, "--"+f.Name+"=")
			}
			for _, v := range l.GetSlice() {
				args = append(args, "--"+f.Name+"="+v)
			}
			return
		}
		args = append(args, "--"+f.Name+"="+f.Value.String())
	})
	return args
}
