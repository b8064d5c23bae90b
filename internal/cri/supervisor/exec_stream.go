package supervisor

import (
	"context"
	"fmt"
	"net"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ExecOptions say how Exec runs a command.
type ExecOptions struct {
	Cmd           []string
	Stdin         bool   // give the process a stdin the caller writes to
	TTY           bool   // run it on a new terminal (stdout and stderr both on it)
	Width, Height uint16 // the terminal's first size (0: the kernel's default)
}

type execStreamParams struct {
	ID string `json:"id"`
	ExecOptions
}

// Exec runs a command in the running container (its namespaces, cgroup,
// user, environment and security settings, as ExecSync) and returns its
// stdio. Stream.Wait gives its exit code; Stream.Close kills it if it
// still runs.
func (c *Client) Exec(ctx context.Context, id string, o ExecOptions) (*Stream, error) {
	s, files, err := c.openStream(ctx, methodExec, execStreamParams{ID: id, ExecOptions: o})
	if err != nil {
		return nil, err
	}
	if t := files["tty"]; t != nil {
		s.tty, s.Stdout = t, t
		if o.Stdin {
			s.Stdin = noClose{t}
		}
		return s, nil
	}
	if f := files["stdin"]; f != nil {
		s.Stdin = f
	}
	s.Stdout, s.Stderr = files["stdout"], files["stderr"]
	return s, nil
}

// noClose is a terminal's input: closing it would close its output too.
type noClose struct{ *os.File }

func (noClose) Close() error { return nil }

// execTarget returns the running container and the process to run cmd
// as: the container's own process settings.
func (s *server) execTarget(id string, cmd []string, tty bool) (runtimeContainer, *specs.Process, error) {
	if len(cmd) == 0 {
		return nil, nil, fmt.Errorf("%w: exec in container %s: empty command", ErrInvalidArgument, id)
	}
	c, err := s.get(id)
	if err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	rc, spec, status := c.rc, c.rec.Process, c.rec.State.Status
	c.mu.Unlock()
	if status != Running || rc == nil || spec == nil {
		return nil, nil, fmt.Errorf("exec in container %s: %w: it is %s", id, ErrFailedPrecondition, status)
	}
	ps := *spec
	ps.Args = cmd
	ps.Terminal = tty
	ps.ConsoleSize = nil
	return rc, &ps, nil
}

func (s *server) execStream(ctx context.Context, conn *net.UnixConn, p execStreamParams) error {
	rc, ps, err := s.execTarget(p.ID, p.Cmd, p.TTY)
	if err != nil {
		return err
	}
	var names []string
	var ours, theirs []*os.File
	defer func() { closeFiles(ours); closeFiles(theirs) }()
	pio := procIO{tty: p.TTY, width: p.Width, height: p.Height}
	if !p.TTY {
		add := func(name string, childReads bool) (*os.File, error) {
			r, w, err := os.Pipe()
			if err != nil {
				return nil, fmt.Errorf("exec pipe: %w", err)
			}
			child, our := w, r
			if childReads {
				child, our = r, w
			}
			theirs = append(theirs, child)
			ours = append(ours, our)
			names = append(names, name)
			return child, nil
		}
		if p.Stdin {
			if pio.stdin, err = add("stdin", true); err != nil {
				return err
			}
		}
		if pio.stdout, err = add("stdout", false); err != nil {
			return err
		}
		if pio.stderr, err = add("stderr", false); err != nil {
			return err
		}
	}
	proc, master, err := rc.exec(ps, pio)
	closeFiles(theirs)
	theirs = nil
	if err != nil {
		return fmt.Errorf("exec in container %s: %w", p.ID, err)
	}
	if master != nil {
		ours, names = []*os.File{master}, []string{"tty"}
	}
	if err := sendStream(conn, names, ours); err != nil {
		proc.kill()
		proc.wait()
		return nil // the client is gone: no one to answer
	}
	closeFiles(ours)
	ours = nil

	type waitResult struct {
		ws  unix.WaitStatus
		err error
	}
	waited := make(chan waitResult, 1)
	go func() {
		ws, err := proc.wait()
		waited <- waitResult{ws, err}
	}()
	var w waitResult
	select {
	case w = <-waited:
	case <-clientGone(conn):
		proc.kill()
		<-waited
		return nil
	case <-ctx.Done():
		proc.kill()
		w = <-waited
	}
	if w.err != nil {
		endStream(conn, streamEnd{}, fmt.Errorf("exec in container %s: wait: %w", p.ID, w.err))
		return nil
	}
	endStream(conn, streamEnd{ExitCode: exitCode(w.ws)}, nil)
	return nil
}
