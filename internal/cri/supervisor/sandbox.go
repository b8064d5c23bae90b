package supervisor

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/manager"
	"golang.org/x/sys/unix"
)

// sandboxRecord is what the supervisor persists of a sandbox.
type sandboxRecord struct {
	Spec    SandboxSpec `json:"spec"`
	Sandbox Sandbox     `json:"sandbox"`
	// PausePid and PauseStart (its start time in clock ticks) identify the
	// pause process across a pid's reuse.
	PausePid   int    `json:"pausePid,omitempty"`
	PauseStart uint64 `json:"pauseStart,omitempty"`
}

func (s *server) sandboxDir(id string) string { return filepath.Join(s.sandboxesDir(), id) }

func (s *server) createSandbox(sp SandboxSpec) (_ Sandbox, retErr error) {
	if !validID(sp.ID) {
		return Sandbox{}, fmt.Errorf("%w: sandbox id %q: must be 1-128 letters, digits, '_', '.', '-'", ErrInvalidArgument, sp.ID)
	}
	groups, err := classifySysctls(sp)
	if err != nil {
		return Sandbox{}, err
	}
	s.mu.Lock()
	if _, ok := s.sandboxes[sp.ID]; ok {
		s.mu.Unlock()
		return Sandbox{}, fmt.Errorf("sandbox %s: %w", sp.ID, ErrAlreadyExists)
	}
	rec := &sandboxRecord{Spec: sp, Sandbox: Sandbox{ID: sp.ID, NetNS: sp.NetNS}}
	s.sandboxes[sp.ID] = rec // reserves the ID
	s.mu.Unlock()
	defer func() {
		if retErr != nil {
			s.undoSandbox(rec)
			s.mu.Lock()
			delete(s.sandboxes, sp.ID)
			s.mu.Unlock()
		}
	}()
	// Recorded first, so that a crash half-way leaves a record that
	// RemoveSandbox (or the runtime's reconciliation) can undo.
	recPath := filepath.Join(s.sandboxesDir(), sp.ID+".json")
	if err := writeJSON(recPath, rec); err != nil {
		return Sandbox{}, fmt.Errorf("record sandbox %s: %w", sp.ID, err)
	}
	defer func() {
		if retErr != nil {
			os.Remove(recPath)
		}
	}()
	dir := s.sandboxDir(sp.ID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Sandbox{}, fmt.Errorf("create sandbox %s: %w", sp.ID, err)
	}
	var flags int
	if !sp.HostIPC {
		flags |= unix.CLONE_NEWIPC
		rec.Sandbox.IPCNS = filepath.Join(dir, "ipc")
	}
	if !sp.HostUTS {
		flags |= unix.CLONE_NEWUTS
		rec.Sandbox.UTSNS = filepath.Join(dir, "uts")
	}
	if sp.Userns != nil {
		if err := s.makeUserNamespaces(sp, rec, dir, groups); err != nil {
			return Sandbox{}, fmt.Errorf("create sandbox %s: %w", sp.ID, err)
		}
	} else if flags != 0 {
		err := onNewThread(func() error {
			return makeNamespaces(flags, sp.Hostname, rec.Sandbox.IPCNS, rec.Sandbox.UTSNS, groups[nsIPC])
		})
		if err != nil {
			return Sandbox{}, fmt.Errorf("create sandbox %s: %w", sp.ID, err)
		}
	}
	if len(groups[nsNet]) > 0 {
		if err := onNewThread(func() error { return netSysctls(sp.NetNS, groups[nsNet]) }); err != nil {
			return Sandbox{}, fmt.Errorf("create sandbox %s: %w", sp.ID, err)
		}
	}
	var podCg cgroups.Manager
	if sp.CgroupParent != "" {
		m, err := podCgroup(sp.CgroupParent)
		if err == nil {
			err = m.Apply(-1)
		}
		if err != nil {
			return Sandbox{}, fmt.Errorf("create sandbox %s: pod cgroup %s: %w", sp.ID, sp.CgroupParent, err)
		}
		podCg = m
	}
	if sp.Userns != nil && rec.PausePid != 0 && podCg != nil {
		if err := joinPauseCgroup(sp, rec.PausePid); err != nil {
			return Sandbox{}, fmt.Errorf("create sandbox %s: %w", sp.ID, err)
		}
	}
	if sp.SharePID && !sp.HostPID && sp.Userns == nil {
		pid, start, err := s.startPause()
		if err != nil {
			return Sandbox{}, fmt.Errorf("create sandbox %s: %w", sp.ID, err)
		}
		// Under the pod's cgroup, as upstream's pause container: whoever
		// tears the pod's cgroups down reaches it too, also when this
		// supervisor is gone.
		if podCg != nil {
			if err := joinPauseCgroup(sp, pid); err != nil {
				killPause(pid, start)
				return Sandbox{}, fmt.Errorf("create sandbox %s: %w", sp.ID, err)
			}
		}
		rec.PausePid, rec.PauseStart = pid, start
		rec.Sandbox.PIDNS = fmt.Sprintf("/proc/%d/ns/pid", pid)
	}
	if err := writeJSON(recPath, rec); err != nil {
		killPause(rec.PausePid, rec.PauseStart)
		return Sandbox{}, fmt.Errorf("record sandbox %s: %w", sp.ID, err)
	}
	return rec.Sandbox, nil
}

// onNewThread runs fn on a locked OS thread that is thrown away afterwards,
// so that the namespaces fn enters never leak to other goroutines.
func onNewThread(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: the thread exits with this goroutine.
		errc <- fn()
	}()
	return <-errc
}

// makeNamespaces unshares the thread into new IPC/UTS namespaces, sets
// the hostname and the IPC sysctls, and holds the namespaces by bind
// mounts at ipcPath and utsPath.
func makeNamespaces(flags int, hostname, ipcPath, utsPath string, ipcSysctls map[string]string) error {
	if err := unix.Unshare(flags); err != nil {
		return fmt.Errorf("unshare: %w", err)
	}
	if flags&unix.CLONE_NEWUTS != 0 && hostname != "" {
		if err := unix.Sethostname([]byte(hostname)); err != nil {
			return fmt.Errorf("set hostname %q: %w", hostname, err)
		}
	}
	if err := writeSysctls(ipcSysctls); err != nil {
		return err
	}
	for _, b := range []struct{ ns, path string }{{"ipc", ipcPath}, {"uts", utsPath}} {
		if b.path == "" {
			continue
		}
		if err := bindNamespace(fmt.Sprintf("/proc/thread-self/ns/%s", b.ns), b.path); err != nil {
			return err
		}
	}
	return nil
}

func bindNamespace(src, target string) error {
	f, err := os.OpenFile(target, os.O_CREATE|os.O_RDONLY, 0o400)
	if err != nil {
		return fmt.Errorf("namespace file: %w", err)
	}
	f.Close()
	if err := unix.Mount(src, target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s on %s: %w", src, target, err)
	}
	return nil
}

func unbindNamespace(path string) error {
	if path == "" {
		return nil
	}
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func netSysctls(netns string, sysctls map[string]string) error {
	f, err := os.Open(netns)
	if err != nil {
		return fmt.Errorf("network namespace: %w", err)
	}
	defer f.Close()
	if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("enter network namespace %s: %w", netns, err)
	}
	return writeSysctls(sysctls)
}

type nsKind int

const (
	nsIPC nsKind = iota
	nsNet
)

// classifySysctls sorts the sandbox's sysctls by the namespace they live
// in, and refuses those that are not namespaced or whose namespace is the
// host's.
func classifySysctls(sp SandboxSpec) (map[nsKind]map[string]string, error) {
	out := map[nsKind]map[string]string{nsIPC: {}, nsNet: {}}
	for name, v := range sp.Sysctls {
		key := strings.ReplaceAll(name, "/", ".")
		switch {
		case strings.HasPrefix(key, "net."):
			if sp.NetNS == "" {
				return nil, fmt.Errorf("%w: sysctl %s: not allowed with the host's network", ErrInvalidArgument, name)
			}
			out[nsNet][key] = v
		case ipcSysctl(key):
			if sp.HostIPC {
				return nil, fmt.Errorf("%w: sysctl %s: not allowed with the host's IPC namespace", ErrInvalidArgument, name)
			}
			out[nsIPC][key] = v
		default:
			return nil, fmt.Errorf("%w: sysctl %s: not a namespaced sysctl a pod may set", ErrInvalidArgument, name)
		}
	}
	return out, nil
}

func ipcSysctl(key string) bool {
	switch key {
	case "kernel.shmmax", "kernel.shmall", "kernel.shmmni", "kernel.shm_rmid_forced",
		"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem":
		return true
	}
	return strings.HasPrefix(key, "fs.mqueue.")
}

func writeSysctls(sysctls map[string]string) error {
	for key, v := range sysctls {
		p := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
		if err := os.WriteFile(p, []byte(v), 0); err != nil {
			return fmt.Errorf("%w: sysctl %s=%s: %w", ErrInvalidArgument, key, v, err)
		}
	}
	return nil
}

func podCgroup(path string) (cgroups.Manager, error) {
	return manager.New(&cgroups.Cgroup{Path: path, Resources: &cgroups.Resources{SkipDevices: true}})
}

// joinPauseCgroup moves a sandbox's pause process into a cgroup of its
// own under the pod's, named by the sandbox as containerd names the pause
// container's. Not into the pod's cgroup itself: on cgroup v2 a cgroup
// with processes of its own cannot give its children the cpu, memory or
// pids controllers, and the pod's containers would get no limits.
func joinPauseCgroup(sp SandboxSpec, pid int) error {
	p := path.Join(sp.CgroupParent, sp.ID)
	m, err := podCgroup(p)
	if err == nil {
		err = m.Apply(pid)
	}
	if err != nil {
		return fmt.Errorf("pause process into cgroup %s: %w", p, err)
	}
	return nil
}

// startPause starts the process that holds the pod's PID namespace: this
// binary in pause mode, init of a new PID namespace.
func (s *server) startPause() (pid int, start uint64, err error) {
	cmd, done, err := s.holderCommand(nil, "pause")
	if err != nil {
		return 0, 0, fmt.Errorf("start pause process: %w", err)
	}
	defer done()
	cmd.Args[0] = "kemudi-pause"
	cmd.Dir = "/"
	cmd.SysProcAttr = &unix.SysProcAttr{Cloneflags: unix.CLONE_NEWPID, Setsid: true}
	return s.startHolder(cmd, "pause process")
}

// startHolder starts cmd, a process that holds namespaces, and returns
// its pid and start time; the reaper reaps it.
func (s *server) startHolder(cmd *exec.Cmd, what string) (pid int, start uint64, err error) {
	if err := cmd.Start(); err != nil {
		return 0, 0, fmt.Errorf("start %s: %w", what, err)
	}
	pid = cmd.Process.Pid
	cmd.Process.Release()
	start, err = processStart(pid)
	if err != nil {
		unix.Kill(pid, unix.SIGKILL)
		return 0, 0, err
	}
	s.watchChild(pid, func(unix.WaitStatus, time.Time) {})
	return pid, start, nil
}

// processStart reads a process's start time (clock ticks since boot).
func processStart(pid int) (uint64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces; fields count from after its ')'.
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 20 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	var start uint64
	_, err = fmt.Sscan(fields[19], &start)
	return start, err
}

// killPause ends the sandbox's pause process (and with it every process of
// its PID namespace) and waits until it is gone.
func killPause(pid int, start uint64) error {
	if pid == 0 {
		return nil
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil // gone already
	}
	defer unix.Close(fd)
	if st, err := processStart(pid); err != nil || st != start {
		return nil // the pid is someone else's now
	}
	if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("kill pause process %d: %w", pid, err)
	}
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		n, err := unix.Poll(fds, 1000)
		if err == unix.EINTR {
			continue
		}
		if n > 0 || err != nil {
			return nil
		}
	}
	return fmt.Errorf("pause process %d did not die", pid)
}

// sandboxStats reads the pod cgroup's usage (every container of the pod).
func (s *server) sandboxStats(id string) (Stats, error) {
	s.mu.Lock()
	rec, ok := s.sandboxes[id]
	s.mu.Unlock()
	if !ok {
		return Stats{}, fmt.Errorf("sandbox %s: %w", id, ErrNotFound)
	}
	if rec.Spec.CgroupParent == "" {
		return Stats{}, fmt.Errorf("sandbox %s: %w: it has no pod cgroup", id, ErrFailedPrecondition)
	}
	m, err := podCgroup(rec.Spec.CgroupParent)
	if err != nil {
		return Stats{}, err
	}
	cs, err := m.GetStats()
	if err != nil {
		return Stats{}, fmt.Errorf("stats of sandbox %s: %w", id, err)
	}
	return statsFrom(cs, time.Now()), nil
}

func (s *server) listSandboxes() []Sandbox {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Sandbox, 0, len(s.sandboxes))
	for _, rec := range s.sandboxes {
		out = append(out, rec.Sandbox)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// removeSandbox undoes createSandbox; an unknown sandbox is no error.
func (s *server) removeSandbox(id string) error {
	s.mu.Lock()
	rec, ok := s.sandboxes[id]
	s.mu.Unlock()
	if !ok {
		return nil
	}
	if err := s.undoSandbox(rec); err != nil {
		return fmt.Errorf("remove sandbox %s: %w", id, err)
	}
	if err := os.Remove(filepath.Join(s.sandboxesDir(), id+".json")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove sandbox %s: %w", id, err)
	}
	s.mu.Lock()
	delete(s.sandboxes, id)
	s.mu.Unlock()
	return nil
}

// undoSandbox removes whatever part of the sandbox exists.
func (s *server) undoSandbox(rec *sandboxRecord) error {
	var errs []error
	if err := killPause(rec.PausePid, rec.PauseStart); err != nil {
		errs = append(errs, err)
	}
	dir := s.sandboxDir(rec.Spec.ID)
	for _, p := range []string{filepath.Join(dir, "ipc"), filepath.Join(dir, "uts"), filepath.Join(dir, "user")} {
		if err := unbindNamespace(p); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	if rec.Spec.CgroupParent != "" {
		m, err := podCgroup(rec.Spec.CgroupParent)
		if err == nil {
			err = m.Destroy()
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("pod cgroup %s: %w", rec.Spec.CgroupParent, err))
		}
	}
	return errors.Join(errs...)
}

func (s *server) loadSandboxes() error {
	return readJSONDir(s.sandboxesDir(), func(id string, data []byte) error {
		rec := new(sandboxRecord)
		if err := json.Unmarshal(data, rec); err != nil {
			return err
		}
		s.mu.Lock()
		s.sandboxes[id] = rec
		s.mu.Unlock()
		if rec.PausePid != 0 {
			if st, err := processStart(rec.PausePid); err != nil || st != rec.PauseStart {
				s.log.Warn("pause process of sandbox is gone", "id", id, "pid", rec.PausePid)
			} else {
				s.watchOrphan(rec.PausePid, func(unix.WaitStatus, time.Time) {})
			}
		}
		return nil
	})
}
