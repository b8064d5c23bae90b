package supervisor

import (
	"context"
	"fmt"
	"net"
	"os"
	"syscall"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/utils"
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

// execTarget returns the running container's libcontainer handle and a
// process for cmd with the container's process settings.
func (s *server) execTarget(id string, cmd []string, tty bool) (*libcontainer.Container, *libcontainer.Process, error) {
	if len(cmd) == 0 {
		return nil, nil, fmt.Errorf("%w: exec in container %s: empty command", ErrInvalidArgument, id)
	}
	c, err := s.get(id)
	if err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	lc, spec, status := c.lc, c.rec.Process, c.rec.State.Status
	c.mu.Unlock()
	if status != Running || lc == nil || spec == nil {
		return nil, nil, fmt.Errorf("exec in container %s: %w: it is %s", id, ErrFailedPrecondition, status)
	}
	ps := *spec
	ps.Args = cmd
	ps.Terminal = tty
	ps.ConsoleSize = nil
	proc, err := newProcess(&ps)
	if err != nil {
		return nil, nil, err
	}
	proc.Init = false
	return lc, proc, nil
}

func (s *server) execStream(ctx context.Context, conn *net.UnixConn, p execStreamParams) error {
	lc, proc, err := s.execTarget(p.ID, p.Cmd, p.TTY)
	if err != nil {
		return err
	}
	var names []string
	var ours, theirs []*os.File
	defer func() { closeFiles(ours); closeFiles(theirs) }()
	var consoleSock *os.File
	if p.TTY {
		parent, child, err := utils.NewSockPair("console")
		if err != nil {
			return fmt.Errorf("console socket: %w", err)
		}
		consoleSock = parent
		defer parent.Close()
		theirs = append(theirs, child)
		proc.ConsoleSocket = child
		proc.ConsoleWidth, proc.ConsoleHeight = p.Width, p.Height
	} else {
		add := func(name string, childReads bool) error {
			r, w, err := os.Pipe()
			if err != nil {
				return fmt.Errorf("exec pipe: %w", err)
			}
			child, our := w, r
			if childReads {
				child, our = r, w
			}
			theirs = append(theirs, child)
			ours = append(ours, our)
			names = append(names, name)
			switch name {
			case "stdin":
				proc.Stdin = child
			case "stdout":
				proc.Stdout = child
			case "stderr":
				proc.Stderr = child
			}
			return nil
		}
		if p.Stdin {
			if err := add("stdin", true); err != nil {
				return err
			}
		}
		if err := add("stdout", false); err != nil {
			return err
		}
		if err := add("stderr", false); err != nil {
			return err
		}
	}
	if err := lc.Run(proc); err != nil {
		return fmt.Errorf("exec in container %s: %w", p.ID, err)
	}
	closeFiles(theirs)
	theirs = nil
	if p.TTY {
		master, err := utils.RecvFile(consoleSock)
		if err != nil {
			proc.Signal(unix.SIGKILL)
			proc.Wait()
			return fmt.Errorf("exec in container %s: receive terminal: %w", p.ID, err)
		}
		ours, names = []*os.File{master}, []string{"tty"}
	}
	if err := sendStream(conn, names, ours); err != nil {
		proc.Signal(unix.SIGKILL)
		proc.Wait()
		return nil // the client is gone: no one to answer
	}
	closeFiles(ours)
	ours = nil

	type waitResult struct {
		ps  *os.ProcessState
		err error
	}
	waited := make(chan waitResult, 1)
	go func() {
		ps, err := proc.Wait()
		waited <- waitResult{ps, err}
	}()
	var w waitResult
	select {
	case w = <-waited:
	case <-clientGone(conn):
		proc.Signal(unix.SIGKILL)
		<-waited
		return nil
	case <-ctx.Done():
		proc.Signal(unix.SIGKILL)
		w = <-waited
	}
	if w.ps == nil {
		endStream(conn, streamEnd{}, fmt.Errorf("exec in container %s: wait: %w", p.ID, w.err))
		return nil
	}
	code := int32(w.ps.ExitCode())
	if ws, ok := w.ps.Sys().(syscall.WaitStatus); ok {
		code = exitCode(unix.WaitStatus(ws))
	}
	endStream(conn, streamEnd{ExitCode: code}, nil)
	return nil
}
