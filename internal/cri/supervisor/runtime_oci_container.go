package supervisor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/manager"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ociContainer is a container of an OCI runtime binary; spec is its
// bundle's config.json (nil when forgetting one whose bundle is gone).
type ociContainer struct {
	r    *ociRuntime
	id   string
	spec *specs.Spec
}

func (c *ociContainer) start() error { return c.r.run(c.id, procIO{}, "start", c.id) }

func (c *ociContainer) signal(sig unix.Signal) error {
	err := c.r.run(c.id, procIO{}, "kill", c.id, strconv.Itoa(int(sig)))
	if err != nil && !c.alive() {
		return nil // it ended meanwhile
	}
	return err
}

// killLeftovers: `kill --all` signals every process of the cgroup, also
// once the init is gone.
func (c *ociContainer) killLeftovers() error {
	if c.spec == nil || c.spec.Linux == nil {
		return nil
	}
	for _, ns := range c.spec.Linux.Namespaces {
		if ns.Type == specs.PIDNamespace && ns.Path == "" {
			return nil // its processes died with their init
		}
	}
	return c.r.run(c.id, procIO{}, "kill", "--all", c.id, "KILL")
}

// alive asks the binary for the container's status; the runtime tells a
// zombie or a reused pid from its init.
func (c *ociContainer) alive() bool {
	st, err := c.state()
	return err == nil && st.Status != specs.StateStopped
}

func (c *ociContainer) state() (specs.State, error) {
	var st specs.State
	cmd := c.r.command(c.id, "state", c.id)
	out, err := cmd.Output()
	if err != nil {
		return st, fmt.Errorf("%s state %s: %w", filepath.Base(c.r.bin), c.id, err)
	}
	if err := json.Unmarshal(out, &st); err != nil {
		return st, fmt.Errorf("%s state %s: %w", filepath.Base(c.r.bin), c.id, err)
	}
	return st, nil
}

// update hands the limits to `update --resources FILE`: the binary keeps
// them in its state as well as in the cgroup.
func (c *ociContainer) update(res *specs.LinuxResources) error {
	f := filepath.Join(c.r.bundle(c.id), "resources.json")
	if err := writeJSON(f, res); err != nil {
		return err
	}
	defer os.Remove(f)
	return c.r.run(c.id, procIO{}, "update", "--resources", f, c.id)
}

// cgroup is read where the spec put it, as the binary (cgroupfs driver)
// made it.
func (c *ociContainer) cgroup() (cgroups.Manager, error) {
	if c.spec == nil {
		return nil, fmt.Errorf("container %s: no bundle", c.id)
	}
	cg, err := specconv.CreateCgroupConfig(&specconv.CreateOpts{CgroupName: c.id, Spec: c.spec}, nil)
	if err != nil {
		return nil, err
	}
	return manager.New(cg)
}

// exec runs `exec --detach` with p as process.json; the process is an
// orphan the keeper reaps, whose exit the supervisor learns from it.
func (c *ociContainer) exec(p *specs.Process, io procIO) (_ execProcess, _ *os.File, retErr error) {
	f, err := os.CreateTemp(c.r.bundle(c.id), "exec-*.json")
	if err != nil {
		return nil, nil, fmt.Errorf("process.json: %w", err)
	}
	procFile, pidFile := f.Name(), f.Name()+".pid"
	defer os.Remove(procFile)
	defer os.Remove(pidFile)
	pp := *p
	pp.Terminal = io.tty
	if io.tty && io.width > 0 && io.height > 0 {
		pp.ConsoleSize = &specs.Box{Width: uint(io.width), Height: uint(io.height)}
	}
	err = json.NewEncoder(f).Encode(&pp)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, nil, fmt.Errorf("process.json: %w", err)
	}
	console, err := listenConsole(io.tty)
	if err != nil {
		return nil, nil, err
	}
	defer console.Close()
	args := append([]string{"exec", "--detach", "--pid-file", pidFile, "--process", procFile}, console.args()...)
	if err := c.r.run(c.id, io, append(args, c.id)...); err != nil {
		return nil, nil, err
	}
	pid, err := readPidFile(pidFile)
	if err != nil {
		return nil, nil, err
	}
	proc := c.r.watchExec(pid)
	master, err := console.receive()
	if err != nil {
		proc.kill()
		proc.wait()
		return nil, nil, err
	}
	return proc, master, nil
}

// destroy runs `delete --force` (which kills a created container's init)
// and removes the bundle. A container the binary does not know is gone
// already.
func (c *ociContainer) destroy() error {
	err := c.r.run(c.id, procIO{}, "delete", "--force", c.id)
	if err != nil {
		if _, serr := os.Stat(filepath.Join(c.r.state, c.id)); !errors.Is(serr, fs.ErrNotExist) {
			return err
		}
	}
	return os.RemoveAll(c.r.bundle(c.id))
}

// ociExec is a process exec'd with `exec --detach`: the keeper reaps it.
type ociExec struct {
	pid  int
	done chan struct{}
	ws   unix.WaitStatus
}

func (r *ociRuntime) watchExec(pid int) *ociExec {
	e := &ociExec{pid: pid, done: make(chan struct{})}
	r.watchOrphan(pid, func(ws unix.WaitStatus, _ time.Time) {
		e.ws = ws
		close(e.done)
	})
	return e
}

func (e *ociExec) wait() (unix.WaitStatus, error) {
	<-e.done
	return e.ws, nil
}

func (e *ociExec) kill() {
	select {
	case <-e.done:
	default:
		unix.Kill(e.pid, unix.SIGKILL)
	}
}
