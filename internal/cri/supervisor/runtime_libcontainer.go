package supervisor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/manager"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/specconv"
	"github.com/opencontainers/runc/libcontainer/utils"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// libcontainerRuntime creates containers with runc's libcontainer in the
// supervisor itself (the create/start split of runc), its state under
// root; the inits are the supervisor's children (nsexec makes them
// children of the caller).
type libcontainerRuntime struct {
	root       string
	debug      bool // runc init's steps, in the supervisor's log
	watchChild func(pid int, onExit func(unix.WaitStatus, time.Time))
	cgroupView cgroupV1View
}

func (r *libcontainerRuntime) name() string { return "" }

func (r *libcontainerRuntime) watchInit(pid int, onExit func(unix.WaitStatus, time.Time)) {
	r.watchChild(pid, onExit)
}

func (r *libcontainerRuntime) create(id string, spec *specs.Spec, io procIO) (runtimeContainer, int, *os.File, error) {
	cfg, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{CgroupName: id, Spec: spec})
	if err != nil {
		return nil, 0, nil, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	proc, err := newProcess(spec.Process)
	if err != nil {
		return nil, 0, nil, err
	}
	if r.debug {
		proc.LogLevel = "5"
	}
	consoleSock, err := attachIO(proc, io)
	if err != nil {
		return nil, 0, nil, err
	}
	// runc init has its own copy of the console socket's child end once
	// started; the stdio ends are the caller's.
	defer closeFiles([]*os.File{proc.ConsoleSocket, consoleSock})
	lc, err := libcontainer.Create(r.root, id, cfg)
	if err != nil {
		return nil, 0, nil, err
	}
	// The container's cgroup directories are known once it is created; its
	// init reads cfg (which lc holds) when started.
	if st, err := lc.State(); err == nil {
		r.cgroupView.expand(cfg, st.CgroupPaths)
	}
	if err := lc.Start(proc); err != nil {
		lc.Destroy()
		return nil, 0, nil, err
	}
	pid, err := proc.Pid()
	var console *os.File
	if err == nil {
		console, err = receiveConsole(consoleSock)
	}
	if err != nil {
		lc.Signal(unix.SIGKILL)
		proc.Wait()
		lc.Destroy()
		return nil, 0, nil, err
	}
	return &libcontainerContainer{lc: lc}, pid, console, nil
}

// attachIO gives proc its stdio; with a terminal it returns the socket on
// which runc init sends the terminal's master.
func attachIO(proc *libcontainer.Process, io procIO) (*os.File, error) {
	if !io.tty {
		// A nil *os.File in the io.Reader would not read as /dev/null.
		if io.stdin != nil {
			proc.Stdin = io.stdin
		}
		proc.Stdout, proc.Stderr = io.stdout, io.stderr
		return nil, nil
	}
	parent, child, err := utils.NewSockPair("console")
	if err != nil {
		return nil, fmt.Errorf("console socket: %w", err)
	}
	proc.ConsoleSocket = child
	proc.ConsoleWidth, proc.ConsoleHeight = io.width, io.height
	return parent, nil
}

// receiveConsole takes the terminal master runc init sent on sock (nil
// without a terminal).
func receiveConsole(sock *os.File) (*os.File, error) {
	if sock == nil {
		return nil, nil
	}
	f, err := utils.RecvFile(sock)
	if err != nil {
		return nil, fmt.Errorf("receive terminal: %w", err)
	}
	return f, nil
}

func (r *libcontainerRuntime) load(id string) (runtimeContainer, error) {
	lc, err := libcontainer.Load(r.root, id)
	if err != nil {
		return nil, err
	}
	return &libcontainerContainer{lc: lc}, nil
}

func (r *libcontainerRuntime) ids() ([]string, error) { return dirNames(r.root) }

func (r *libcontainerRuntime) forget(id string) error {
	return os.RemoveAll(filepath.Join(r.root, id))
}

// dirNames lists the directories in dir.
func dirNames(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

type libcontainerContainer struct{ lc *libcontainer.Container }

func (c *libcontainerContainer) start() error { return c.lc.Exec() }

func (c *libcontainerContainer) signal(sig unix.Signal) error {
	if err := c.lc.Signal(sig); err != nil && !errors.Is(err, libcontainer.ErrNotRunning) {
		return err
	}
	return nil
}

// killLeftovers: libcontainer signals every process of the cgroup when the
// init of a container without its own PID namespace is gone.
func (c *libcontainerContainer) killLeftovers() error {
	if c.lc.Config().Namespaces.IsPrivate(configs.NEWPID) {
		return nil
	}
	return c.signal(unix.SIGKILL)
}

func (c *libcontainerContainer) alive() bool {
	st, err := c.lc.Status()
	return err == nil && st != libcontainer.Stopped
}

func (c *libcontainerContainer) cgroup() (cgroups.Manager, error) {
	cfg := c.lc.Config()
	st, err := c.lc.State()
	if err != nil {
		return manager.New(cfg.Cgroups)
	}
	return manager.NewWithPaths(cfg.Cgroups, st.CgroupPaths)
}

// update applies the limits and keeps them in the container's
// configuration.
func (c *libcontainerContainer) update(r *specs.LinuxResources) error {
	cfg := c.lc.Config()
	want, err := specconv.CreateCgroupConfig(&specconv.CreateOpts{
		CgroupName: c.lc.ID(),
		Spec:       &specs.Spec{Linux: &specs.Linux{CgroupsPath: cfg.Cgroups.Path, Resources: r}},
	}, nil)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	mergeResources(cfg.Cgroups.Resources, want.Resources)
	return c.lc.Set(cfg)
}

// mergeResources copies the limits an update may change; devices and the
// rest stay as the container was created.
func mergeResources(dst, src *cgroups.Resources) {
	dst.CpuShares, dst.CpuQuota, dst.CpuPeriod = src.CpuShares, src.CpuQuota, src.CpuPeriod
	dst.CpusetCpus, dst.CpusetMems = src.CpusetCpus, src.CpusetMems
	dst.Memory, dst.MemorySwap, dst.MemoryReservation = src.Memory, src.MemorySwap, src.MemoryReservation
	dst.PidsLimit = src.PidsLimit
	dst.HugetlbLimit = src.HugetlbLimit
	if src.Unified != nil {
		dst.Unified = src.Unified
	}
}

func (c *libcontainerContainer) exec(p *specs.Process, io procIO) (execProcess, *os.File, error) {
	proc, err := newProcess(p)
	if err != nil {
		return nil, nil, err
	}
	proc.Init = false
	consoleSock, err := attachIO(proc, io)
	if err != nil {
		return nil, nil, err
	}
	// runc init has its own copy of the console socket's child end once
	// started; the stdio ends are the caller's.
	defer closeFiles([]*os.File{proc.ConsoleSocket, consoleSock})
	if err := c.lc.Run(proc); err != nil {
		return nil, nil, err
	}
	master, err := receiveConsole(consoleSock)
	if err != nil {
		proc.Signal(unix.SIGKILL)
		proc.Wait()
		return nil, nil, err
	}
	return libcontainerExec{proc}, master, nil
}

func (c *libcontainerContainer) destroy() error { return c.lc.Destroy() }

type libcontainerExec struct{ p *libcontainer.Process }

func (e libcontainerExec) wait() (unix.WaitStatus, error) {
	ps, err := e.p.Wait()
	if ps == nil {
		return 0, err
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok {
		return unix.WaitStatus(ws), nil
	}
	return unix.WaitStatus(ps.ExitCode() << 8), nil
}

func (e libcontainerExec) kill() { e.p.Signal(unix.SIGKILL) }
