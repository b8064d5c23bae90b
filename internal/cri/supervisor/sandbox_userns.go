package supervisor

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// makeUserNamespaces gives the sandbox a user namespace with its
// mappings and the pod's other namespaces inside it. A holder process
// is started in them all (this binary as pause); its namespaces are
// bound at the sandbox's files, and the hostname and sysctls set from
// here (the host's root may act in a child user namespace). The holder
// stays as the pause process when the pod shares one PID namespace, and
// is ended otherwise: the bind mounts keep the namespaces.
func (s *server) makeUserNamespaces(sp SandboxSpec, rec *sandboxRecord, dir string, groups map[nsKind]map[string]string) error {
	// The IPC and UTS files are the ones createSandbox named already.
	rec.Sandbox.UserNS = filepath.Join(dir, "user")
	flags := uintptr(unix.CLONE_NEWUSER)
	binds := []nsBind{{"user", rec.Sandbox.UserNS}}
	for _, b := range []struct {
		flag uintptr
		nsBind
	}{{unix.CLONE_NEWNET, nsBind{"net", sp.NetNS}}, {unix.CLONE_NEWIPC, nsBind{"ipc", rec.Sandbox.IPCNS}}, {unix.CLONE_NEWUTS, nsBind{"uts", rec.Sandbox.UTSNS}}} {
		if b.path != "" {
			flags |= b.flag
			binds = append(binds, b.nsBind)
		}
	}
	sharePID := sp.SharePID && !sp.HostPID
	if sharePID {
		flags |= unix.CLONE_NEWPID
	}
	// The holder sets the IPC sysctls itself (only the namespace's root
	// may) and says on a pipe when it has.
	args := []string{"pause", readyArg}
	for k, v := range groups[nsIPC] {
		args = append(args, k+"="+v)
	}
	ready, readyW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer ready.Close()
	cmd, done, err := s.holderCommand([]*os.File{readyW}, args...)
	if err != nil {
		readyW.Close()
		return fmt.Errorf("the user namespace's holder: %w", err)
	}
	defer done()
	cmd.Args[0] = "kemudi-pause"
	cmd.Dir = "/"
	cmd.SysProcAttr = &unix.SysProcAttr{Cloneflags: flags, Setsid: true,
		UidMappings: idMaps(sp.Userns.UIDMappings), GidMappings: idMaps(sp.Userns.GIDMappings),
		// The containers set their groups inside: setgroups stays allowed.
		GidMappingsEnableSetgroups: true,
		// Root of the namespace (host root by kernel IDs until it sets
		// them), so that it owns what it makes.
		Credential: &syscall.Credential{Uid: 0, Gid: 0}}
	pid, start, err := s.startHolder(cmd, "the user namespace's holder")
	readyW.Close()
	if err != nil {
		return err
	}
	rec.PausePid, rec.PauseStart = pid, start // undone by undoSandbox until released below
	failed, err := io.ReadAll(ready)
	if err != nil {
		return fmt.Errorf("the user namespace's holder: %w", err)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidArgument, strings.TrimPrefix(string(failed), ErrInvalidArgument.Error()+": "))
	}

	for _, b := range binds {
		if err := bindNamespace(fmt.Sprintf("/proc/%d/ns/%s", pid, b.ns), b.path); err != nil {
			return err
		}
	}
	if rec.Sandbox.UTSNS != "" && sp.Hostname != "" {
		if err := inNamespace(rec.Sandbox.UTSNS, unix.CLONE_NEWUTS, func() error { return unix.Sethostname([]byte(sp.Hostname)) }); err != nil {
			return fmt.Errorf("set hostname %q: %w", sp.Hostname, err)
		}
	}
	if sharePID {
		rec.Sandbox.PIDNS = fmt.Sprintf("/proc/%d/ns/pid", pid)
		return nil
	}
	if err := killPause(pid, start); err != nil {
		return err
	}
	rec.PausePid, rec.PauseStart = 0, 0
	return nil
}

// nsBind is a namespace of the holder and the file that holds it.
type nsBind struct{ ns, path string }

// inNamespace runs fn on a thread of its own that has joined the
// namespace held at path.
func inNamespace(path string, nstype int, fn func() error) error {
	return onNewThread(func() error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), nstype); err != nil {
			return fmt.Errorf("enter namespace %s: %w", path, err)
		}
		return fn()
	})
}

func idMaps(in []specs.LinuxIDMapping) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(in))
	for i, m := range in {
		out[i] = syscall.SysProcIDMap{ContainerID: int(m.ContainerID), HostID: int(m.HostID), Size: int(m.Size)}
	}
	return out
}
