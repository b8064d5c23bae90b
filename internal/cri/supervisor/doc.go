// Package supervisor runs the node's containers: the kemudi-supervisor
// process (cmd/kemudi-supervisor, small, embedded in kemudi) and the Client
// the runtime talks to it with.
//
// # Processes
//
// One keeper and one supervisor per node (per Root), not a shim per
// container:
//
//   - The keeper (`kemudi-supervisor keeper`), started detached by Connect
//     (own session, output to Root/supervisor.log), is a child subreaper.
//     It starts the supervisor, restarts it when it dies, holds a
//     duplicate of every container's stdio, and reaps the containers
//     orphaned by a dead supervisor, recording how they ended
//     (Root/exits/<pid>.json and a message to the supervisor). It does
//     almost nothing, so that it has no reason to crash.
//   - The supervisor (`kemudi-supervisor serve`) creates containers with
//     runc's libcontainer (the runc create/start split), is the parent of
//     their inits (libcontainer's nsexec makes them children of its
//     caller), reads their stdout and stderr into CRI-format logs, records
//     exits (exit code, 128+signal, OOMKilled from the memory cgroup), and
//     keeps its state in Root (containers/<id>.json, sandboxes/<id>.json,
//     libcontainer/<id>/).
//
// A crashed supervisor loses nothing: its containers' inits become the
// keeper's children and go on running; their pipes keep a reader (the
// keeper's duplicate; output waits in the pipe, nothing is lost); the next
// supervisor loads its state, finds them again (libcontainer.Load), gets
// their stdio back from the keeper, and learns of their exits from the
// keeper, which could wait() for them, so exit codes are recorded even
// for containers that ended while no supervisor ran. The runtime (kemudi)
// is only a client: it may restart or crash at any time.
//
// Connect uses a supervisor that already runs, whatever its version, so
// running containers are never handed over; a new kemudi's supervisor (a
// new content-addressed binary under Root/bin) starts only once the old
// keeper is gone (Client.Shutdown, which refuses while containers or
// sandboxes remain, or a reboot).
//
// # Runtimes
//
// What creates and drives the containers is a containerRuntime
// (runtime.go), chosen when the supervisor starts (Options.OCIRuntime,
// the keeper's and supervisor's --oci-runtime): libcontainer in the
// supervisor (runtime_libcontainer.go), or an OCI runtime binary such as
// runc or crun through its command line (runtime_oci.go: create --bundle
// --pid-file [--console-socket], start, kill [--all], update --resources,
// exec --detach --process, delete --force, state), with the same
// config.json, stdio, logs, records and keeper. The binary's inits and
// exec'd processes are orphans as soon as its command returns: the keeper,
// the child subreaper, reaps them and reports their exits, exactly as for
// the inits of a supervisor that died, so exits and restarts work alike;
// an exit reported before the supervisor watched its pid waits for it a
// while. A supervisor keeps its runtime while it runs: Connect refuses one
// started with another.
//
// # The binary
//
// libcontainer starts every container by re-executing /proc/self/exe as
// `init`; so the process calling it is this small binary, not kemudi (whose
// package initialisation alone is costly). The keeper re-executes itself
// once from a sealed memfd copy of its binary (runc's exeseal), and starts
// the supervisor from it: libcontainer then uses /proc/self/exe as is
// instead of copying the binary per container, keeper and supervisor share
// its pages, and no container can reach the binary on disk
// (CVE-2019-5736). It is built static with libseccomp (`make supervisor`).
//
// # Protocol
//
// JSON lines over the unix socket Root/supervisor.sock (0600): requests
// carry an id, so one connection serves concurrent calls; Events streams
// answers to one request. Errors carry a code that unwraps to ErrNotFound,
// ErrAlreadyExists, ErrFailedPrecondition or ErrInvalidArgument.
//
// # Sandboxes
//
// A sandbox's IPC and UTS namespaces are made on a throw-away locked
// thread and held by bind mounts under Root/sandboxes/<id>/ (no process);
// its PID namespace, with SharePID only, by a pause process (this binary
// in pause mode, which reaps the namespace's orphans: a C constructor,
// cmd/kemudi-supervisor/pause.c, so that no Go runtime starts and stays
// per pod). Sysctls are written in the namespace they belong to (IPC ones
// in the new IPC namespace, net.* in the sandbox's network namespace); the
// pod cgroup is created with libcontainer's cgroup manager (v1 or v2).
//
// On cgroup v1 a container's /sys/fs/cgroup mounts are made from the
// node's hierarchies, read once (cgroupview.go), rather than by runc's init
// from its mountinfo, which holds every pod's mounts.
//
// # Exec and attach
//
// ExecSync runs a non-init libcontainer Process in the container and
// answers with its output. Exec and Attach are streams (stream.go): each
// has a connection of its own, on which the supervisor passes the
// stream's file descriptors (SCM_RIGHTS): an exec's pipes or terminal
// master, or for an attachment a pipe per output stream (the supervisor
// copies the container's output to its attachers while writing the log)
// and a duplicate of the held stdin or terminal. The client then does its
// I/O directly and resizes a terminal with an ioctl on the master; the
// supervisor sends an exec's exit code when it ends, and kills it when the
// client closes the connection first. A StdinOnce container's stdin is
// closed (the supervisor's and the keeper's copies) when its first
// attachment with stdin ends, as the CRI says; later attachments get no
// stdin.
package supervisor
