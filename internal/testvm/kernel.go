// Package testvm runs a test's command on a Linux host this machine is
// not: a kernel of its own, booted under QEMU, with cgroup v2 alone (no v1
// controller mounted or mountable), the machine's files read-only beneath a
// writable overlay held in the guest's memory, and no network device but
// loopback. What the command leaves behind dies with the guest.
//
// QEMU emulates the CPU in software here (this machine offers no hardware
// virtualisation a stock kernel can use), so a command runs several times
// slower than on the host: run the tests whose behaviour the host decides,
// not a whole suite.
package testvm

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kemudi/kemudi/internal/testimages"
)

// Kernel is an unpacked Debian kernel package, as test/vm/fetch-kernel.sh
// leaves it: Dir/boot/vmlinuz-<Release> and Dir/lib/modules/<Release> with
// its modules.dep.
type Kernel struct {
	Dir, Release string
}

func (k Kernel) image() string   { return filepath.Join(k.Dir, "boot", "vmlinuz-"+k.Release) }
func (k Kernel) modules() string { return filepath.Join(k.Dir, "lib", "modules", k.Release) }

// KernelDir is where fetch-kernel.sh puts the kernel: $KEMUDI_TEST_KERNEL,
// else the tests' cache ($XDG_CACHE_HOME/kemudi-test, else
// /var/cache/kemudi-test) /kernel/current.
func KernelDir() string {
	if d := os.Getenv("KEMUDI_TEST_KERNEL"); d != "" {
		return d
	}
	return filepath.Join(testimages.CacheDir(), "kernel", "current")
}

// LoadKernel reads the kernel in dir.
func LoadKernel(dir string) (Kernel, error) {
	b, err := os.ReadFile(filepath.Join(dir, "release"))
	if err != nil {
		return Kernel{}, fmt.Errorf("kernel in %s (test/vm/fetch-kernel.sh puts one there): %w", dir, err)
	}
	k := Kernel{Dir: dir, Release: strings.TrimSpace(string(b))}
	for _, p := range []string{k.image(), filepath.Join(k.modules(), "modules.dep")} {
		if _, err := os.Stat(p); err != nil {
			return Kernel{}, fmt.Errorf("kernel in %s: %w", dir, err)
		}
	}
	return k, nil
}

// Require returns the kernel to boot and checks that QEMU and a static
// busybox are there. Without them the test is skipped, except in CI (CI
// set), where .ci/run must have provided them: there it fails.
func Require(tb testing.TB) Kernel {
	tb.Helper()
	missing := func(what string, err error) {
		tb.Helper()
		if os.Getenv("CI") != "" {
			tb.Fatalf("CI must provide %s (see .ci/run): %v", what, err)
		}
		tb.Skipf("%s: %v", what, err)
	}
	if _, err := exec.LookPath(qemu); err != nil {
		missing("QEMU (Debian package qemu-system-x86)", err)
	}
	if _, err := os.Stat(busybox); err != nil {
		missing("a static busybox (Debian package busybox-static)", err)
	}
	k, err := LoadKernel(KernelDir())
	if err != nil {
		missing("a kernel to boot (test/vm/fetch-kernel.sh)", err)
	}
	return k
}
