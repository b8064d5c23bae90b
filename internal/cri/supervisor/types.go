package supervisor

import (
	"errors"
	"log/slog"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Options configure Connect.
type Options struct {
	// Root holds the supervisor's state, its socket, its log and the
	// extracted binary.
	Root string
	// Binary is the kemudi-supervisor to run; "" = the one embedded in this
	// binary (extracted under Root), else kemudi-supervisor next to
	// os.Executable().
	Binary string
	// OCIRuntime is an OCI runtime binary (runc, crun; a path, or a name
	// looked up in PATH) that creates the containers instead of the
	// supervisor's libcontainer. A supervisor already running under Root
	// with another runtime is refused (ErrFailedPrecondition).
	OCIRuntime string
	Log        *slog.Logger
}

// SandboxSpec describes the namespaces and cgroup a pod's containers share.
type SandboxSpec struct {
	ID, Hostname string
	// NetNS is "" for the host's network, else the path of an existing
	// network namespace.
	NetNS                     string
	HostIPC, HostUTS, HostPID bool
	// SharePID gives the pod one PID namespace, held by a pause process.
	SharePID bool
	Sysctls  map[string]string
	// CgroupParent is the pod's cgroup (a cgroupfs path such as
	// /kubepods/besteffort/pod<uid>), created by CreateSandbox.
	CgroupParent string
	// Userns, when set, gives the pod a user namespace of its own. Its
	// network namespace is then made inside it, at NetNS (which must not
	// exist yet), as are its IPC, UTS and shared PID namespaces: the
	// pod's root owns them, as sysfs and mqueue mounts require.
	Userns *UserNamespace
}

// UserNamespace is a pod's user namespace: host IDs for its IDs.
type UserNamespace struct {
	UIDMappings, GIDMappings []specs.LinuxIDMapping
}

// Sandbox is a created sandbox: the paths of its namespace files ("" = the
// host's), to be named in its containers' specs.
type Sandbox struct {
	ID, NetNS, IPCNS, UTSNS, PIDNS, UserNS string
}

// ContainerSpec describes a container to create.
type ContainerSpec struct {
	ID, SandboxID string
	// Spec is the complete OCI runtime spec: root.path is the mounted
	// rootfs, namespaces are named by path, linux.cgroupsPath is set.
	Spec *specs.Spec
	// LogPath is the CRI-format log file; "" discards the output.
	LogPath               string
	Stdin, StdinOnce, TTY bool
}

// Status is a container's life-cycle state.
type Status int

const (
	Created Status = iota
	Running
	Exited
	Unknown
)

func (s Status) String() string {
	switch s {
	case Created:
		return "created"
	case Running:
		return "running"
	case Exited:
		return "exited"
	}
	return "unknown"
}

// State is what the supervisor knows of a container.
type State struct {
	ID                               string
	Status                           Status
	Pid                              int
	CreatedAt, StartedAt, FinishedAt time.Time
	ExitCode                         int32
	OOMKilled                        bool
	// Reason and Message explain an exit the process did not choose, such
	// as a start failure or an exit while no supervisor watched.
	Reason, Message string
}

// Stats are a container's resource usage, read from its cgroup.
type Stats struct {
	Timestamp time.Time
	// CPUUsageNanos is the cumulative CPU time used.
	CPUUsageNanos uint64
	// MemoryUsage is the cgroup's usage, MemoryWorkingSet that minus the
	// inactive file cache (as the kubelet counts it), MemoryRSS the
	// anonymous memory.
	MemoryUsage, MemoryWorkingSet, MemoryRSS uint64
	// MemoryLimit is 0 when unlimited.
	MemoryLimit uint64
	Pids        uint64
}

// EventType says what happened to a container.
type EventType int

const (
	EventCreated EventType = iota
	EventStarted
	EventExited
	EventDeleted
)

func (t EventType) String() string {
	switch t {
	case EventCreated:
		return "created"
	case EventStarted:
		return "started"
	case EventExited:
		return "exited"
	case EventDeleted:
		return "deleted"
	}
	return "unknown"
}

// Event is one change of a container's state, with the state after it.
type Event struct {
	Type  EventType
	State State
}

var (
	// ErrNotFound: no container or sandbox has that ID.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: the ID is taken.
	ErrAlreadyExists = errors.New("already exists")
	// ErrFailedPrecondition: the container is in the wrong state for the
	// call (Delete of a running container, Start of a started one).
	ErrFailedPrecondition = errors.New("failed precondition")
	// ErrInvalidArgument: the request is malformed.
	ErrInvalidArgument = errors.New("invalid argument")
)
