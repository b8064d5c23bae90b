package supervisor

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/opencontainers/runc/libcontainer/exeseal"
)

const sealedEnv = "_KEMUDI_SUPERVISOR_SEALED"

// The processes this binary starts in a pod's namespaces (containers'
// inits, pause processes, user namespace holders) must never reach the
// binary on disk: one that could write to it would own every later
// supervisor (CVE-2019-5736). Each runs from a sealed view of it instead:
// runc's read-only overlayfs of the binary's directory, which copies
// nothing (libcontainer makes one per container itself; holderCommand
// one per holder), or, where overlayfs sealing is not possible, a sealed
// memfd copy. The keeper and supervisor themselves run from the binary
// on disk, whose pages are page cache (shared, reclaimable), and not from
// a memfd copy, which holds the whole binary (~15 MiB) in memory that no
// one can reclaim.

// RunSealed re-executes this process from a sealed memfd copy of its
// binary, once, at start, where overlayfs sealing is not possible here
// (for the supervisor under root): libcontainer would otherwise copy the
// binary per container, and uses a memfd /proc/self/exe as is. Returns
// only if no re-execution is needed or sealing is not possible.
func RunSealed(root string) error {
	if exeseal.IsSelfExeCloned() || os.Getenv(sealedEnv) != "" || overlaySealing(root) {
		return nil
	}
	self, err := os.Open("/proc/self/exe")
	if err != nil {
		return fmt.Errorf("open own binary: %w", err)
	}
	st, err := self.Stat()
	if err != nil {
		self.Close()
		return err
	}
	sealed, err := exeseal.CloneBinary(self, st.Size(), "kemudi-supervisor", os.TempDir())
	self.Close()
	if err != nil {
		return fmt.Errorf("seal own binary: %w", err)
	}
	env := append(os.Environ(), sealedEnv+"=1")
	err = syscall.Exec("/proc/self/fd/"+strconv.Itoa(int(sealed.Fd())), os.Args, env)
	sealed.Close()
	return fmt.Errorf("re-execute sealed binary: %w", err)
}

// overlaySealing reports whether runc's overlayfs sealing of this binary
// works here (privileged, a kernel with fsopen and overlayfs, and the
// binary's directory apart from root's sealDir).
func overlaySealing(root string) bool {
	dir, err := sealDir(root)
	if err != nil {
		return false
	}
	f, err := exeseal.CloneSelfExe(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	return !exeseal.IsCloned(f) // a memfd: overlayfs failed
}

// sealDir is the empty directory runc's overlayfs sealing takes as its
// second layer: one of its own, since overlayfs refuses layers of which
// one holds the other (the binary's directory, root/bin, under /tmp).
func sealDir(root string) (string, error) {
	dir := filepath.Join(root, "seal")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("seal own binary: %w", err)
	}
	return dir, nil
}

// holderCommand is this binary run with args from a sealed view of it,
// with extra as its files from fd 3. Call done once the command started
// (or failed to).
func (s *server) holderCommand(extra []*os.File, args ...string) (cmd *exec.Cmd, done func(), err error) {
	if exeseal.IsSelfExeCloned() {
		cmd = exec.Command("/proc/self/exe", args...)
		cmd.ExtraFiles = extra
		return cmd, func() {}, nil
	}
	dir, err := sealDir(s.root)
	if err != nil {
		return nil, nil, err
	}
	exe, err := exeseal.CloneSelfExe(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("seal own binary: %w", err)
	}
	// Passed among the child's files, as libcontainer does: the fd
	// numbers Go's fork gives them cannot overwrite it before the exec.
	cmd = exec.Command("/proc/self/fd/"+strconv.Itoa(3+len(extra)), args...)
	cmd.ExtraFiles = append(append([]*os.File{}, extra...), exe)
	return cmd, func() { exe.Close() }, nil
}
