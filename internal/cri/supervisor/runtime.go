package supervisor

import (
	"os"
	"time"

	"github.com/opencontainers/cgroups"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// containerRuntime is what creates and drives the containers for the
// supervisor: runc's libcontainer in this process (libcontainerRuntime),
// or an OCI runtime binary through its command line (ociRuntime). The
// supervisor does the rest alike for both: records, stdio and logs,
// exits, the keeper, sandboxes, streams.
type containerRuntime interface {
	// create makes the container up to the point where its init waits for
	// start (runc create), with io as the init's stdio; with io.tty it
	// returns the master of the init's new terminal.
	create(id string, spec *specs.Spec, io procIO) (ctr runtimeContainer, pid int, console *os.File, err error)
	// watchInit calls onExit once the init pid that create returned has
	// exited: libcontainer's inits are this process's children, an OCI
	// binary's are orphans the keeper reaps.
	watchInit(pid int, onExit func(unix.WaitStatus, time.Time))
	// load finds a container created before, by this supervisor or one
	// that died.
	load(id string) (runtimeContainer, error)
	// ids lists the containers the runtime keeps state for.
	ids() ([]string, error)
	// forget removes what the runtime keeps of a container whose state did
	// not load.
	forget(id string) error
	// name says which runtime this is ("" for libcontainer, else the
	// binary's path), as Ping reports it.
	name() string
}

// runtimeContainer is one container of a containerRuntime.
type runtimeContainer interface {
	// start runs the created container's process (runc start).
	start() error
	// signal sends sig to the init; a container no longer running is no
	// error.
	signal(sig unix.Signal) error
	// killLeftovers ends the processes left in the container after its
	// init exited, when it has no PID namespace of its own.
	killLeftovers() error
	// alive reports whether the init is created or running.
	alive() bool
	// update sets new cgroup limits.
	update(r *specs.LinuxResources) error
	// cgroup returns a manager of the container's cgroup, to read it.
	cgroup() (cgroups.Manager, error)
	// exec runs p in the running container with io as its stdio; with
	// io.tty it returns the master of the process's new terminal.
	exec(p *specs.Process, io procIO) (execProcess, *os.File, error)
	// destroy removes a container that is not running: its cgroup and the
	// runtime's state (a created one is killed first).
	destroy() error
}

// execProcess is a process exec'd in a container.
type execProcess interface {
	// wait returns once the process exited.
	wait() (unix.WaitStatus, error)
	kill()
}

// procIO is a process's stdio as the runtime passes it: the process's ends
// of its pipes (nil stdin: /dev/null), or a new terminal with tty.
type procIO struct {
	stdin, stdout, stderr *os.File
	tty                   bool
	// width and height are an exec'd terminal's first size (0: the
	// kernel's default); an init's is in its spec.
	width, height uint16
}
