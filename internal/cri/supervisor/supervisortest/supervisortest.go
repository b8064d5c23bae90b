// Package supervisortest helps tests and benchmarks run real containers
// through the supervisor: it builds kemudi-supervisor (cached by the hash
// of its sources), makes a busybox root filesystem from the host's
// busybox-static, and writes minimal valid OCI specs.
package supervisortest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// BuildTags are the tags kemudi-supervisor is built with (the Makefile
// uses the same): libseccomp through cgo, no CRIU.
const BuildTags = "seccomp runc_nocriu netgo osusergo"

var buildOnce struct {
	sync.Once
	path string
	err  error
}

// Binary builds kemudi-supervisor once per source state into the temp dir
// and returns its path.
func Binary(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() { buildOnce.path, buildOnce.err = build() })
	if buildOnce.err != nil {
		tb.Fatalf("build kemudi-supervisor: %v", buildOnce.err)
	}
	return buildOnce.path
}

func moduleRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("no caller")
	}
	// internal/cri/supervisor/supervisortest/supervisortest.go
	return filepath.Join(filepath.Dir(file), "..", "..", "..", ".."), nil
}

func build() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, f := range []string{"go.mod", "go.sum"} {
		if err := hashFile(h, filepath.Join(root, f)); err != nil {
			return "", err
		}
	}
	for _, dir := range []string{"cmd/kemudi-supervisor", "internal/cri/supervisor"} {
		ents, err := os.ReadDir(filepath.Join(root, dir))
		if err != nil {
			return "", err
		}
		for _, e := range ents {
			if source(e.Name()) {
				fmt.Fprintln(h, dir, e.Name())
				if err := hashFile(h, filepath.Join(root, dir, e.Name())); err != nil {
					return "", err
				}
			}
		}
	}
	out := filepath.Join(os.TempDir(), "kemudi-supervisor-test-"+hex.EncodeToString(h.Sum(nil))[:16])
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	tmp := out + fmt.Sprintf(".%d", os.Getpid())
	cmd := exec.Command("go", "build", "-trimpath", "-tags", BuildTags, "-ldflags", "-extldflags -static", "-o", tmp, "./cmd/kemudi-supervisor")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%v: %s", err, b)
	}
	return out, os.Rename(tmp, out)
}

// source tells whether a file of the binary's directories is built into it
// (its Go files, and C files such as the pause process's).
func source(name string) bool {
	switch filepath.Ext(name) {
	case ".go":
		return !strings.HasSuffix(name, "_test.go")
	case ".c", ".h":
		return true
	}
	return false
}

func hashFile(w io.Writer, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// BusyboxRootfs makes a root filesystem of the host's /bin/busybox (Debian
// busybox-static) and its applets under dir; it skips the test without it.
func BusyboxRootfs(tb testing.TB, dir string) string {
	tb.Helper()
	const busybox = "/bin/busybox"
	if _, err := os.Stat(busybox); err != nil {
		tb.Skipf("needs %s (Debian busybox-static)", busybox)
	}
	rootfs := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "proc", "dev", "sys", "tmp", "etc"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	if err := copyFile(busybox, filepath.Join(rootfs, "bin", "busybox")); err != nil {
		tb.Fatal(err)
	}
	list, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		tb.Fatalf("busybox --list: %v", err)
	}
	for _, applet := range strings.Fields(string(list)) {
		if applet == "busybox" {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(rootfs, "bin", applet)); err != nil && !os.IsExist(err) {
			tb.Fatal(err)
		}
	}
	return rootfs
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Spec returns a minimal valid spec (runc's `runc spec` example) running
// args in rootfs (read-only), in the cgroup cgroupsPath, without a
// terminal.
func Spec(rootfs, cgroupsPath string, args ...string) *specs.Spec {
	s := specconv.Example()
	s.Root.Path = rootfs
	s.Process.Terminal = false
	s.Process.Args = args
	s.Hostname = ""
	s.Linux.CgroupsPath = cgroupsPath
	return s
}

// CgroupFile reads file of the cgroup at path (cgroupfs path) for the v1
// controller (ignored on a v2 host).
func CgroupFile(controller, path, file string) (string, error) {
	b, err := os.ReadFile(CgroupDir(controller, path) + "/" + file)
	return strings.TrimSpace(string(b)), err
}

// CgroupDir is the directory of the cgroup at path for controller.
func CgroupDir(controller, path string) string {
	if IsV2() {
		return filepath.Join("/sys/fs/cgroup", path)
	}
	return filepath.Join("/sys/fs/cgroup", controller, path)
}

// IsV2 reports a cgroup v2 only host.
func IsV2() bool {
	_, err := os.Stat("/sys/fs/cgroup/cgroup.controllers")
	return err == nil
}

// RemoveCgroupTree removes the cgroup at path (and its children, leaves
// first) in every hierarchy; what does not exist is skipped.
func RemoveCgroupTree(path string) error {
	var dirs []string
	if IsV2() {
		dirs = []string{filepath.Join("/sys/fs/cgroup", path)}
	} else {
		ents, err := os.ReadDir("/sys/fs/cgroup")
		if err != nil {
			return err
		}
		for _, e := range ents {
			dirs = append(dirs, filepath.Join("/sys/fs/cgroup", e.Name(), path))
		}
	}
	var firstErr error
	for _, d := range dirs {
		var all []string
		filepath.WalkDir(d, func(p string, de fs.DirEntry, err error) error {
			if err == nil && de.IsDir() {
				all = append(all, p)
			}
			return nil
		})
		for i := len(all) - 1; i >= 0; i-- {
			if err := os.Remove(all[i]); err != nil && !os.IsNotExist(err) && firstErr == nil {
				firstErr = err
			}
		}
	}
	return firstErr
}
