package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Client talks to the node's supervisor. It is safe for concurrent use; a
// call made after the supervisor restarted reconnects.
type Client struct {
	opts Options
	log  *slog.Logger

	mu   sync.Mutex
	conn *muxConn
}

// Connect starts the supervisor if none runs (detached, in its own
// session, so that it outlives the caller), then connects to it.
func Connect(ctx context.Context, opts Options) (*Client, error) {
	if opts.Root == "" {
		return nil, fmt.Errorf("supervisor: %w: Root is empty", ErrInvalidArgument)
	}
	// sockaddr_un holds 108 bytes with the terminating NUL.
	if s := socketPath(opts.Root); len(s) > 107 {
		return nil, fmt.Errorf("supervisor: %w: socket path %s is longer than a unix socket allows (107 bytes)", ErrInvalidArgument, s)
	}
	if opts.OCIRuntime != "" {
		bin, err := ociRuntimePath(opts.OCIRuntime)
		if err != nil {
			return nil, err
		}
		opts.OCIRuntime = bin
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	c := &Client{opts: opts, log: opts.Log.With("component", "supervisor-client")}
	if _, err := c.getConn(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// ociRuntimePath returns the absolute path of the OCI runtime binary bin
// (the supervisor runs in /, and with another PATH), if it is executable.
func ociRuntimePath(bin string) (string, error) {
	p, err := exec.LookPath(bin)
	if err == nil {
		p, err = filepath.Abs(p)
	}
	if err != nil {
		return "", fmt.Errorf("supervisor: %w: OCI runtime %s: %w", ErrInvalidArgument, bin, err)
	}
	return p, nil
}

// Close closes the connection; the supervisor and its containers go on.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn = nil
	return err
}

func (c *Client) getConn(ctx context.Context) (*muxConn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil && !c.conn.broken() {
		return c.conn, nil
	}
	m, err := ensureRunning(ctx, c.opts, c.log)
	if err != nil {
		return nil, err
	}
	c.conn = m
	return m, nil
}

// do makes one call; a connection found broken before the request went
// out is replaced once. A request that went out is not sent again (the
// supervisor may have acted on it before it died): the caller sees the
// error and can look at the state.
func (c *Client) do(ctx context.Context, method string, params, result any) error {
	for attempt := 0; ; attempt++ {
		m, err := c.getConn(ctx)
		if err != nil {
			return err
		}
		err = m.call(ctx, method, params, result)
		if errors.Is(err, errNotSent) && attempt == 0 {
			continue
		}
		return err
	}
}

// CreateSandbox makes the pod's IPC, UTS (and with SharePID, PID)
// namespaces, applies its sysctls and creates its cgroup.
func (c *Client) CreateSandbox(ctx context.Context, s SandboxSpec) (Sandbox, error) {
	var sb Sandbox
	err := c.do(ctx, methodCreateSandbox, s, &sb)
	return sb, err
}

// RemoveSandbox ends the sandbox's pause process, unmounts its namespace
// files and removes the pod cgroup. Removing an unknown sandbox is no error.
func (c *Client) RemoveSandbox(ctx context.Context, id string) error {
	return c.do(ctx, methodRemoveSandbox, idParams{ID: id}, nil)
}

// ListSandboxes returns the sandboxes the supervisor knows, also those a
// crashed runtime did not record: it removes those it does not know.
func (c *Client) ListSandboxes(ctx context.Context) ([]Sandbox, error) {
	var l []Sandbox
	err := c.do(ctx, methodListSandboxes, struct{}{}, &l)
	return l, err
}

// SandboxStats reads the resource usage of the sandbox's pod cgroup.
func (c *Client) SandboxStats(ctx context.Context, id string) (Stats, error) {
	var st Stats
	err := c.do(ctx, methodSandboxStats, idParams{ID: id}, &st)
	return st, err
}

// Create sets up the container's namespaces, cgroup and mounts; its
// process waits for Start.
func (c *Client) Create(ctx context.Context, s ContainerSpec) (State, error) {
	var st State
	err := c.do(ctx, methodCreate, s, &st)
	return st, err
}

// Start runs the created container's process.
func (c *Client) Start(ctx context.Context, id string) (State, error) {
	var st State
	err := c.do(ctx, methodStart, idParams{ID: id}, &st)
	return st, err
}

// Signal sends sig to the container's init; to an exited container it is a
// no-op.
func (c *Client) Signal(ctx context.Context, id string, sig syscall.Signal) error {
	return c.do(ctx, methodSignal, signalParams{ID: id, Signal: int(sig)}, nil)
}

// State returns the container's state.
func (c *Client) State(ctx context.Context, id string) (State, error) {
	var st State
	err := c.do(ctx, methodState, idParams{ID: id}, &st)
	return st, err
}

// List returns every container's state.
func (c *Client) List(ctx context.Context) ([]State, error) {
	var l []State
	err := c.do(ctx, methodList, struct{}{}, &l)
	return l, err
}

// Delete removes a created or exited container: its state and cgroup. A
// running container is refused with ErrFailedPrecondition.
func (c *Client) Delete(ctx context.Context, id string) error {
	return c.do(ctx, methodDelete, idParams{ID: id}, nil)
}

// Update changes the container's cgroup limits.
func (c *Client) Update(ctx context.Context, id string, r *specs.LinuxResources) error {
	return c.do(ctx, methodUpdate, updateParams{ID: id, Resources: r}, nil)
}

// Stats reads the container's resource usage from its cgroup.
func (c *Client) Stats(ctx context.Context, id string) (Stats, error) {
	var s Stats
	err := c.do(ctx, methodStats, idParams{ID: id}, &s)
	return s, err
}

// ReopenLog closes and reopens the container's log file (after rotation).
func (c *Client) ReopenLog(ctx context.Context, id string) error {
	return c.do(ctx, methodReopenLog, idParams{ID: id}, nil)
}

// Events streams container events until ctx is done or the connection to
// the supervisor breaks; then the channel closes. A caller that wants to
// go on subscribes again and lists, since events may have been missed.
func (c *Client) Events(ctx context.Context) (<-chan Event, error) {
	m, err := ensureRunning(ctx, c.opts, c.log)
	if err != nil {
		return nil, err
	}
	id, ch, err := m.open(methodEvents, struct{}{}, 256)
	if err != nil {
		m.Close()
		return nil, err
	}
	// The first answer confirms the subscription, so that no event that
	// happens after Events returns is missed.
	select {
	case r := <-ch:
		if err := decodeError(r); err != nil {
			m.Close()
			return nil, err
		}
	case <-m.done:
		return nil, fmt.Errorf("events: %w", errClosed)
	case <-ctx.Done():
		m.Close()
		return nil, ctx.Err()
	}
	out := make(chan Event, 64)
	go func() {
		defer close(out)
		defer m.Close()
		defer m.forget(id)
		for {
			select {
			case r := <-ch:
				var ev Event
				if decodeError(r) != nil || decodeJSON(r.Result, &ev) != nil {
					continue
				}
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			case <-m.done:
				// Deliver what came before the connection closed.
				for {
					select {
					case r := <-ch:
						var ev Event
						if decodeError(r) == nil && decodeJSON(r.Result, &ev) == nil {
							select {
							case out <- ev:
							case <-ctx.Done():
								return
							}
						}
					default:
						return
					}
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// Shutdown stops the supervisor and its keeper. It is refused with
// ErrFailedPrecondition while a container is created or running or a
// sandbox remains: those must be removed first.
func (c *Client) Shutdown(ctx context.Context) error {
	m, err := dialPing(ctx, socketPath(c.opts.Root))
	if err != nil {
		if !keeperRuns(c.opts.Root) {
			return nil // none runs
		}
		// Its keeper is restarting it, or it is slow to answer: a shutdown
		// that gave up here would leave both running.
		if m, err = awaitAnswer(ctx, c.opts.Root); err != nil {
			return fmt.Errorf("shut down supervisor: %w", err)
		}
	}
	defer m.Close()
	return m.call(ctx, methodShutdown, struct{}{}, nil)
}
