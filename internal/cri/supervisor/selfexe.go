package supervisor

import (
	"fmt"
	"os"
	"strconv"
	"syscall"

	"github.com/opencontainers/runc/libcontainer/exeseal"
)

const sealedEnv = "_KEMUDI_SUPERVISOR_SEALED"

// RunSealed re-executes this process from a sealed memfd copy of its
// binary, once, at start. libcontainer re-executes /proc/self/exe as every
// container's `init`; when /proc/self/exe is already a sealed memfd it uses
// it as is, instead of making a copy (or an overlayfs mount) of the binary
// per container, and a container can never reach the binary on disk
// (CVE-2019-5736). Returns only if sealing is not possible.
func RunSealed() error {
	if exeseal.IsSelfExeCloned() || os.Getenv(sealedEnv) != "" {
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
